"""CPU seconds per role (workers, API, PostgreSQL, Redis, S3, this process) between two snapshots of /proc.

Used by bench/load.py to show where a 2-core machine's second core goes when a second worker is added: a worker
can only scale to the extent the rest of the cluster leaves it cores. Linux only; elsewhere it reports nothing.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read_proc(pid: str) -> tuple[str, str, float] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime, stime are fields 14 and 15 of stat (1-based), i.e. 11 and 12 after the comm
    return comm, cmdline, (int(fields[11]) + int(fields[12])) / TICKS


def _system_times() -> dict[str, float]:
    """Machine-wide CPU seconds by kind (first line of /proc/stat)."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    values = Path("/proc/stat").read_text().splitlines()[0].split()[1 : 1 + len(names)]
    return {n: int(v) / TICKS for n, v in zip(names, values, strict=False)}


def snapshot() -> dict:
    """pid -> (comm, cmdline, cpu seconds so far) for every process visible, and "system" -> machine totals."""
    if not Path("/proc/self/stat").exists():
        return {}
    out: dict = {"system": _system_times()}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (info := _read_proc(entry)) is not None:
            out[int(entry)] = info
    return out


def role_of(pid: int, comm: str, cmdline: str, roles: dict[int, str]) -> str:
    if pid in roles:
        return roles[pid]
    if pid == os.getpid():
        return "bench (client + media server)"
    if "medialens.cli worker" in cmdline:
        return "workers"
    if "medialens.cli serve" in cmdline:
        return "api"
    if "moto_server" in cmdline:
        return "s3 (moto)"
    if comm.startswith("postgres"):
        return "postgresql"
    if comm.startswith("redis-server"):
        return "redis"
    return f"other ({comm})"


def cpu_by_role(before: dict, after: dict, roles: dict[int, str] | None = None) -> dict[str, float]:
    """CPU seconds spent per role between two snapshots (a process that started in between counts from 0)."""
    spent: dict[str, float] = defaultdict(float)
    for pid, info in after.items():
        if pid == "system":
            continue
        comm, cmdline, cpu = info
        start = before.get(pid)
        delta = cpu - (start[2] if start and start[0] == comm else 0.0)
        if delta > 0:
            spent[role_of(pid, comm, cmdline, roles or {})] += delta
    spent = dict(sorted(spent.items(), key=lambda kv: -kv[1]))
    if "system" in before and "system" in after:
        machine = {k: after["system"][k] - before["system"][k] for k in after["system"]}
        spent["machine busy"] = sum(v for k, v in machine.items() if k not in ("idle", "iowait", "steal"))
        spent["machine steal"] = machine.get("steal", 0.0)
    return spent


def format_cpu(spent: dict[str, float], wall: float) -> str:
    """``cores busy`` counts processes; ``machine busy`` is the kernel's total (interrupts and exited processes
    included); ``steal`` is time the hypervisor gave to other machines."""
    machine = {k: spent.pop(k) for k in ("machine busy", "machine steal") if k in spent}
    total = sum(spent.values())
    parts = [f"{role} {sec / wall:.2f}" for role, sec in spent.items() if sec / wall >= 0.005]
    head = f"cores busy {total / wall:.2f}"
    if machine:
        head += f" (machine {machine['machine busy'] / wall:.2f}, steal {machine['machine steal'] / wall:.2f})"
    return head + ": " + ", ".join(parts)
