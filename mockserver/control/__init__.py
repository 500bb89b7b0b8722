"""The control plane (/_mock): control API, its guard, faults, journal, metrics, logs, dashboard, sandboxes."""
