"""
Private: a tiny interpreter for the POSIX-shell subset that container commands use.

Nothing is executed. :class:`_Machine` walks the tree that
:func:`controllers.kubelet._shell_syntax.parse` builds, with a virtual clock
and a set of files, so ``touch /tmp/healthy; sleep 30; rm -f /tmp/healthy;
sleep 600`` becomes "``/tmp/healthy`` exists in [0, 30); exit 0 at 630 s".

Supported: the syntax that :mod:`controllers.kubelet._shell_syntax` parses,
with pipes run one after the other, ``&`` with ``wait``, ``>``/``>>``
redirections (they create the file), ``set -e``, nested ``sh -c``, and the
commands in :meth:`_Machine.simple`.

Anything else raises :class:`Forever`: from there on the process is taken to run
forever, which is what an unknown server binary does. Endless loops do the same
after :data:`_LOOP_LIMIT` simulated iterations.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Sequence

import attrs

from controllers.kubelet._shell_syntax import (
    AndOr,
    Command,
    CommandList,
    For,
    Forever,
    Group,
    If,
    Loop,
    Pipeline,
    Simple,
    parse,
)

__all__ = ["Forever", "check", "simulate"]

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
_NOOPS = frozenset(
    {"true", ":", "echo", "printf", "date", "hostname", "env", "printenv", "export", "cd",
     "mkdir", "id", "whoami", "uname", "pwd", "sync", "trap", "ulimit", "umask", "set"}
)  # fmt: skip
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_SLEEP = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([smhd]?)", re.ASCII)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_LOOP_LIMIT = 100


class _Exit(Exception):  # noqa: N818 - control flow: `exit N`
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _literal(word: str) -> bool:
    """Whether ``word`` means itself: expansions and globs are not simulated."""
    return not any(c in word for c in "$`*?")


def _seconds(arg: str) -> float:
    if arg == "infinity":
        raise Forever
    match = _SLEEP.fullmatch(arg)
    if match is None:
        raise Forever
    return float(match[1]) * _UNITS[match[2]]


@attrs.define
class _Machine:
    now: float = 0.0
    status: int = 0
    errexit: bool = False
    files: dict[str, float] = attrs.field(factory=dict)  # present file -> since
    history: list[tuple[str, float, float | None]] = attrs.field(factory=list)
    jobs: list[float] = attrs.field(factory=list)  # when background jobs finish

    def touch(self, path: str) -> None:
        self.files.setdefault(path, self.now)

    def remove(self, path: str) -> None:
        since = self.files.pop(path)
        if self.now > since:
            self.history.append((path, since, self.now))

    def exists(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return path in self.files or any(f.startswith(prefix) for f in self.files)

    def timeline(self) -> list[tuple[str, float, float | None]]:
        return self.history + [(path, since, None) for path, since in self.files.items()]

    def run_list(self, script: CommandList, *, cond: bool = False) -> int:
        for and_or, background in script.items:
            if background:
                self.background(and_or)
                continue
            self.status, exempt = self.run_and_or(and_or)
            if self.errexit and not cond and not exempt and self.status != 0:
                raise _Exit(self.status)
        return self.status

    def background(self, and_or: AndOr) -> None:
        # Run a copy to learn when the job ends; its side effects are not simulated.
        job = _Machine(now=self.now, files=dict(self.files))
        try:
            job.run_and_or(and_or)
        except _Exit:
            pass
        except Forever:
            job.now = math.inf
        self.jobs.append(job.now)
        self.status = 0

    def run_and_or(self, and_or: AndOr) -> tuple[int, bool]:
        """Return the status, and whether `set -e` ignores it (not the last command ran)."""
        status = self.run_pipeline(and_or.first)
        exempt = bool(and_or.rest) or and_or.first.negate
        for op, pipeline in and_or.rest:
            exempt = True
            if (op == "&&") == (status == 0):
                status = self.run_pipeline(pipeline)
                exempt = pipeline.negate
        return status, exempt

    def run_pipeline(self, pipeline: Pipeline) -> int:
        for command in pipeline.commands:
            self.status = self.run_command(command)
        return int(not self.status) if pipeline.negate else self.status

    def run_command(self, command: Command) -> int:
        match command:
            case Simple(words, redirects):
                for op, target in redirects:
                    if not _literal(target):
                        raise Forever
                    if op == "<" and not self.exists(target):
                        return 1
                    if op in (">", ">>", "&>") and not target.startswith("/dev/"):
                        self.touch(target)
                return self.run_argv(words)
            case Loop(cond, body, until):
                status = 0
                for _ in range(_LOOP_LIMIT):
                    if (self.run_list(cond, cond=True) == 0) == until:
                        return status
                    status = self.run_list(body)
                raise Forever
            case For(words, body):
                status = 0
                for _ in words:
                    status = self.run_list(body)
                return status
            case If(branches, otherwise):
                for cond, body in branches:
                    if self.run_list(cond, cond=True) == 0:
                        return self.run_list(body)
                return self.run_list(otherwise) if otherwise else 0
            case Group(body, subshell):
                return self.subshell(body) if subshell else self.run_list(body)

    def subshell(self, script: CommandList) -> int:
        errexit = self.errexit
        try:
            return self.run_list(script)
        except _Exit as exc:
            return exc.code
        finally:
            self.errexit = errexit

    def run_argv(self, argv: Sequence[str]) -> int:
        while argv and _ASSIGNMENT.match(argv[0]):
            argv = argv[1:]
        if not argv:
            return 0
        name, args = posixpath.basename(argv[0]), list(argv[1:])
        if name in SHELLS:
            return self.shell(args)
        if not _literal(name) or (name not in _NOOPS and not all(map(_literal, args))):
            raise Forever
        return self.simple(name, args)

    def shell(self, args: list[str]) -> int:
        options = [a for a in args if a.startswith("-")]
        operands = [a for a in args if not a.startswith("-")]
        if not any("c" in o for o in options):
            if operands:
                raise Forever  # `sh script.sh`: a file we cannot see
            return 0  # an interactive shell with no stdin exits at once
        if not operands:
            raise Forever
        script = parse(operands[0])
        errexit, self.errexit = self.errexit, any("e" in o for o in options)
        try:
            return self.subshell(script)
        finally:
            self.errexit = errexit

    def simple(self, name: str, args: list[str]) -> int:
        paths = [a for a in args if not a.startswith("-")]
        match name:
            case "exit":
                if not args:
                    raise _Exit(self.status)
                if not args[0].isascii() or not args[0].isdigit() or len(args[0]) > 20:
                    raise Forever
                raise _Exit(int(args[0]) & 255)
            case "exec":
                raise _Exit(self.run_argv(args))
            case "sleep":
                self.now += sum(_seconds(a) for a in args)
                if not math.isfinite(self.now):
                    raise Forever
                return 0 if args else 1
            case "false":
                return 1
            case "set":
                for arg in args:
                    if arg[:1] in "-+" and "e" in arg:
                        self.errexit = arg[0] == "-"
                return 0
            case _ if name in _NOOPS:
                return 0
            case "touch":
                for path in paths:
                    self.touch(path)
                return 0
            case "rm":
                force = any("f" in a for a in args if a.startswith("-"))
                missing = [p for p in paths if not self.exists(p)]
                for path in [f for f in self.files if any(self._under(f, p) for p in paths)]:
                    self.remove(path)
                return 1 if missing and not force else 0
            case "cat" | "ls" | "stat" | "head":
                return int(not all(self.exists(p) for p in paths))
            case "test" | "[":
                return self.test(name, args)
            case "tail" if "-f" in args or "-F" in args:
                raise Forever
            case "wait":
                self.now = max([self.now, *self.jobs])
                if math.isinf(self.now):
                    raise Forever
                self.jobs.clear()
                return 0
        raise Forever

    @staticmethod
    def _under(file: str, path: str) -> bool:
        return file == path or file.startswith(path.rstrip("/") + "/")

    def test(self, name: str, args: list[str]) -> int:
        if name == "[":
            if args[-1:] != ["]"]:
                return 2
            args = args[:-1]
        negate = args[:1] == ["!"]
        if negate:
            args = args[1:]
        if len(args) != 2 or args[0] not in ("-e", "-f", "-s", "-r"):
            raise Forever
        return int(self.exists(args[1]) == negate)


Timeline = list[tuple[str, float, float | None]]  # (path, since, until or None)


def simulate(argv: Sequence[str]) -> tuple[tuple[float, int] | None, Timeline]:
    """
    Run ``argv`` from time 0.

    Returns:
        ``(seconds, exit code)`` when it exits by itself (``None`` = runs forever),
        and the file timeline as ``(path, since, until or None)``.
    """
    machine = _Machine()
    try:
        status = machine.run_argv(argv)
        outcome: tuple[float, int] | None = (machine.now, status)
    except _Exit as exc:
        outcome = (machine.now, exc.code)
    except Forever:
        outcome = None
    return outcome, machine.timeline()


def check(argv: Sequence[str], present: frozenset[str]) -> bool | None:
    """Whether exec probe ``argv`` succeeds while ``present`` files exist; None = not simulated."""
    machine = _Machine(files=dict.fromkeys(present, 0.0))
    try:
        return machine.run_argv(argv) == 0
    except _Exit as exc:
        return exc.code == 0
    except Forever:
        return None
