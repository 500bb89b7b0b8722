"""What a sandbox is built from: forks of a loaded store, id sequence and clock."""
from mockserver.domain.models import User
from mockserver.ids import Clock, Ids
from mockserver.domain.store import State, Store


def _user(name):
    return User(username=name, email=f"{name}@example.com", fullname=name, id=name)


def test_a_forked_store_starts_at_the_baseline_and_changes_alone():
    store = Store()
    with store.write() as state:
        state.put_user(_user("fixture"))
    store.mark_baseline()
    with store.write() as state:
        state.put_user(_user("later"))          # after the baseline: not in forks
    one, two = store.fork(), store.fork()
    with one.write() as state:
        assert list(state.users) == ["fixture"]
        state.put_user(_user("only-one"))
        state.users["fixture"].fullname = "changed in one"
    with two.read() as state:
        assert list(state.users) == ["fixture"] and state.users["fixture"].fullname == "fixture"
    one.reset()
    with one.read() as state:
        assert list(state.users) == ["fixture"] and state.users["fixture"].fullname == "fixture"
    assert one.export()["users"].keys() == {"fixture"}
    with store.read() as state:
        assert set(state.users) == {"fixture", "later"}


def test_a_fork_holds_no_state_until_first_used():
    store = Store(State())
    fork = store.fork()
    assert fork.state is None
    with fork.read() as state:
        assert isinstance(state, State)
    assert fork.state is state


def test_forked_ids_continue_from_the_mark_like_a_reset():
    ids = Ids(seed=3)
    ids.uuid()                       # consumed by "fixtures"
    ids.mark()
    after_mark = [ids.uuid(), ids.api_key()]
    fork = ids.fork()
    assert [fork.uuid(), fork.api_key()] == after_mark
    fork.restart()
    assert fork.uuid() == after_mark[0]
    assert Ids(None).fork().uuid() != Ids(None).fork().uuid()


def test_forked_clock_starts_at_the_marked_tick():
    clock = Clock("step")
    clock.now()
    clock.mark()
    expected = clock.now()
    fork = clock.fork()
    assert fork.now() == expected and fork.mode == "step"
    fork.restart()
    assert fork.now() == expected


def test_copies_of_a_baseline_share_only_what_is_never_changed_in_place():
    """Reset and a sandbox's first use copy the baseline; strings, file bytes and git
    repositories are shared between the copies, everything else is not."""
    from mockserver.domain.data_models import DataFile, Folder
    from mockserver.domain.repository import initial
    store = Store()
    with store.write() as state:
        state.put_user(_user("fixture"))
        home = state.data.homes["fixture"] = Folder()
        home.entries["big.bin"] = DataFile(b"x" * 1000, "2020-01-01T00:00:00.000Z")
        state.put_repo("fixture/Algo", initial({"a.py": b"1"}, "m", 0))
    store.mark_baseline()
    one, two = store.fork(), store.fork()
    with one.read() as a, two.read() as b:
        assert a.data.homes["fixture"] is not b.data.homes["fixture"]
        assert a.users["fixture"] is not b.users["fixture"]
        assert a.data.homes["fixture"].entries["big.bin"].data is b.data.homes["fixture"].entries["big.bin"].data
        assert a.repos["fixture/Algo"] is b.repos["fixture/Algo"]
        assert a.users["fixture"].email is b.users["fixture"].email
        a.data.homes["fixture"].entries.clear()
    with two.read() as b:
        assert "big.bin" in b.data.homes["fixture"].entries
