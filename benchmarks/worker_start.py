"""Worker-process cold start and warm call latency of the invocation engine, in-process
(no HTTP): ``python benchmarks/worker_start.py [fixtures/algorithms]``. 8 cold starts (new
pools), then 3000 warm no-op calls on one warm worker; prints medians and the warm p99."""
import statistics, sys, time
from mockserver.runtime import Engine, Invocation, Binding, DEFAULT_PROFILES
fx = sys.argv[1] if len(sys.argv) > 1 else "fixtures/algorithms"
e = Engine(scale=0)
cpu = DEFAULT_PROFILES[0]
cold = []
for i in range(8):
    t = time.perf_counter()
    o = e.invoke(Invocation(key=f"k{i}", binding=Binding("greeter.py:apply", base_dir=fx), profile=cpu, body=b'"Neo"', content_type="application/json"))
    cold.append(time.perf_counter() - t)
    assert o.result == "Hello Neo", o
warm = []
for i in range(3000):
    t = time.perf_counter()
    e.invoke(Invocation(key="k0", binding=Binding("greeter.py:apply", base_dir=fx), profile=cpu, body=b'"Neo"', content_type="application/json"))
    warm.append(time.perf_counter() - t)
warm.sort()
print(f"cold median {statistics.median(cold)*1000:.1f} ms; warm p50 {warm[len(warm)//2]*1e6:.0f} us p99 {warm[int(len(warm)*.99)]*1e6:.0f} us")
e.shutdown()
