"""Container scripts: the annotation language, the shell reading, and probe outcomes."""

from __future__ import annotations

# The /tmp paths are files inside simulated containers, never touched on this machine.
# ruff: noqa: S108
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.api.container import (
    Container,
    ExecAction,
    HTTPGetAction,
    Probe,
    TCPSocketAction,
)
from controllers.kubelet.script import (
    SCRIPT_ANNOTATION_PREFIX,
    ProbeKind,
    Script,
    ScriptError,
    Window,
    parse,
    script_for,
    unparse,
    validate_scripts,
)
from reconcile import FieldError

HTTP = Probe(http_get=HTTPGetAction(port=8080, path="/healthz"))


def exec_probe(*command: str) -> Probe:
    """An exec probe running ``command``."""
    return Probe(exec=ExecAction(command=command))


def run(*argv: str, image: str = "busybox", name: str = "app") -> Script:
    """The script of a container whose command is ``argv``."""
    return script_for(Container(name=name, image=image, command=argv), {})


def sh(script: str) -> Script:
    """The script of a container running ``sh -c script``."""
    return run("/bin/sh", "-c", script)


# -- the annotation language -------------------------------------------------------------


def test_parses_every_clause() -> None:
    """Each clause sets its field; windows accumulate; whitespace is free."""
    expected = Script(
        pull=3.0,
        start=0.25,
        stop=120.0,
        exit_code=1,
        exit_after=30.0,
        exit_runs=2,
        unready=(Window(30.0, 60.0), Window(90.0, None)),
        unhealthy=(Window(0.0, 3600.0),),
    )
    text = " pull=3s; start = 250ms;stop=2m; exit=1@30s*2; unready=30s..1m; unready=90..;"
    assert expected == parse(text + " unhealthy=..1h ;")


def test_crash_is_exit_code_one() -> None:
    """``crash@D`` is shorthand for ``exit=1@D``."""
    assert parse("exit=1@5s*3") == parse("crash@5s*3")


def test_empty_annotation_is_default_script() -> None:
    """An empty annotation changes nothing."""
    assert Script() == parse("  ;; ")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("exit=x@5s", "exit code must be an integer"),
        ("exit=256@5s", "exit code must be between 0 and 255"),
        ("exit=1", "expected exit=<code>@<duration>"),
        ("exit=1@5s*0", "the number of runs after * must be an integer from 1"),
        ("crash@soon", "'soon' is not a duration"),
        ("pull=-1s", "'-1s' is negative"),
        ("start=5x", "'5x' is not a duration"),
        ("stop", "expected stop=<value>"),
        ("unready=60s..30s", "the window must end after it starts"),
        ("unhealthy=30s", "expected a window like 30s..60s"),
        ("colour=blue", "unknown clause 'colour'"),
        ("pull=1s; pull=2s", "pull is given more than once"),
        ("exit=0@1s; crash@2s", "exit is given more than once"),
        ("pull=1" + "0" * 400, "is too long"),
    ],
)
def test_rejects_bad_clause(text: str, detail: str) -> None:
    """A bad clause raises ScriptError naming the clause and the problem."""
    with pytest.raises(ScriptError) as info:
        parse(text)
    (error,) = info.value.errors
    assert detail in error.detail
    assert text.rsplit(";", maxsplit=1)[-1].strip() == error.value
    assert "" == error.field


def test_reports_every_bad_clause() -> None:
    """All bad clauses are reported at once, in order."""
    with pytest.raises(ScriptError) as info:
        parse("pull=x; start=1s; bogus")
    assert ["pull=x", "bogus"] == [e.value for e in info.value.errors]


@given(st.text())
def test_parse_raises_only_script_error(text: str) -> None:
    """Arbitrary text either parses or raises ScriptError, never anything else."""
    errors: tuple[FieldError, ...] | None = None
    try:
        parse(text)
    except ScriptError as exc:
        errors = exc.errors
    assert errors is None or len(errors) > 0


durations = st.floats(min_value=0, max_value=1e7).map(abs)


@st.composite
def windows(draw: st.DrawFn) -> Window:
    """A window, open-ended one time in four."""
    start = draw(durations)
    length = draw(st.none() | st.floats(min_value=1e-3, max_value=1e4))
    return Window(start, None if length is None else start + length)


scripts = st.builds(
    Script,
    pull=durations,
    start=durations,
    stop=durations,
    exit_code=st.none() | st.integers(0, 255),
    exit_after=durations,
    exit_runs=st.none() | st.integers(1, 10),
    unready=st.lists(windows(), max_size=3).map(tuple),
    unhealthy=st.lists(windows(), max_size=3).map(tuple),
)


@given(scripts)
def test_unparse_round_trips(script: Script) -> None:
    """parse(unparse(script)) gives back the script (when it exits at all)."""
    if script.exit_code is None:
        script = Script(
            pull=script.pull,
            start=script.start,
            stop=script.stop,
            unready=script.unready,
            unhealthy=script.unhealthy,
        )
    assert script == parse(unparse(script))


# -- script_for and validate_scripts ---------------------------------------------------------


def test_script_for_error_names_the_annotation() -> None:
    """Errors from a container's annotation carry the annotation's field path."""
    annotations = {SCRIPT_ANNOTATION_PREFIX + "web": "exit=x@5s"}
    with pytest.raises(ScriptError) as info:
        script_for(Container(name="web", image="nginx"), annotations)
    expected = (
        "metadata.annotations[script.sim.reconcile.dev/web]: Invalid value: 'exit=x@5s': "
        "exit code must be an integer"
    )
    assert expected == str(info.value)


def test_annotation_exit_overrides_command_exit() -> None:
    """``exit=`` in the annotation wins over the command's own exit."""
    container = Container(name="a", image="busybox", command=("sh", "-c", "sleep 5; exit 3"))
    script = script_for(container, {SCRIPT_ANNOTATION_PREFIX + "a": "exit=1@2s*1; start=1s"})
    assert (2.0, 1) == script.exit(0)
    assert None is script.exit(1)
    assert 1.0 == script.start


def test_annotation_without_exit_keeps_command_exit_and_files() -> None:
    """An annotation with no ``exit=`` keeps the command's exit and files."""
    container = Container(name="a", command=("sh", "-c", "touch /ok; sleep 5; exit 3"))
    script = script_for(container, {SCRIPT_ANNOTATION_PREFIX + "a": "pull=2s"})
    assert (2.0, (5.0, 3), (("/ok", Window(0.0, None)),)) == (
        script.pull,
        script.exit(7),
        script.files,
    )


def test_annotations_for_other_containers_are_ignored() -> None:
    """Only this container's annotation applies."""
    annotations = {SCRIPT_ANNOTATION_PREFIX + "other": "exit=1@1s", "unrelated": "x"}
    assert None is script_for(Container(name="a", image="nginx"), annotations).exit(0)


def test_validate_scripts_reports_field_paths() -> None:
    """Each bad annotation, and one naming no container, is a FieldError at its path."""
    annotations = {
        SCRIPT_ANNOTATION_PREFIX + "web": "pull=3s",
        SCRIPT_ANNOTATION_PREFIX + "init": "exit=7@x",
        SCRIPT_ANNOTATION_PREFIX + "ghost": "pull=3s",
        "app.kubernetes.io/name": "web",
    }
    containers = [Container(name="web"), Container(name="init")]
    errors = validate_scripts(annotations, containers, field="pod.metadata.annotations")
    assert [
        FieldError(
            field="pod.metadata.annotations[script.sim.reconcile.dev/init]",
            value="exit=7@x",
            detail="'x' is not a duration (like 5s, 1.5m, 250ms, 2h)",
        ),
        FieldError(
            field="pod.metadata.annotations[script.sim.reconcile.dev/ghost]",
            type="Not found",
            value="ghost",
            detail="no container named 'ghost' in this pod",
        ),
    ] == errors


# -- exits ---------------------------------------------------------------------------------


def test_exit_limited_to_first_runs() -> None:
    """``exit=1@5s*2``: the first two runs crash, later runs keep running."""
    script = parse("exit=1@5s*2")
    assert [(5.0, 1), (5.0, 1), None, None] == [script.exit(run) for run in range(4)]


def test_exit_every_run_without_limit() -> None:
    """Without ``*N`` every run exits."""
    assert (0.5, 0) == parse("exit=0@500ms").exit(1000)


def test_no_exit_runs_forever() -> None:
    """No exit clause and no command: the container never exits."""
    assert None is Script().exit(0)


# -- the shell -------------------------------------------------------------------------------


def test_liveness_exec_tutorial() -> None:
    """The Kubernetes liveness-exec tutorial: healthy for 30 s, exit 0 at 630 s."""
    container = Container(
        name="liveness",
        image="registry.k8s.io/busybox:1.27.2",
        args=("/bin/sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600"),
        liveness_probe=exec_probe("cat", "/tmp/healthy"),
    )
    script = script_for(container, {})
    probe = exec_probe("cat", "/tmp/healthy")
    assert (630.0, 0) == script.exit(0)
    assert [True, True, False, False] == [
        script.probe_ok("liveness", probe, t) for t in (0.0, 29.9, 30.0, 600.0)
    ]
    assert 30.0 == script.next_change("liveness", probe, 5.0)
    assert None is script.next_change("liveness", probe, 30.0)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("sh", "-c", "sleep 5; exit 1"), (5.0, 1)),
        (("echo", "hi"), (0.0, 0)),
        (("true",), (0.0, 0)),
        (("false",), (0.0, 1)),
        (("sleep", "3600"), (3600.0, 0)),
        (("sleep", "1m", "30"), (90.0, 0)),
        (("bash", "-c", "true && false"), (0.0, 1)),
        (("sh", "-c", "false || exit 4"), (0.0, 4)),
        (("sh", "-c", "false && sleep 9"), (0.0, 1)),
        (("sh", "-c", "echo start\nsleep 2\ndate"), (2.0, 0)),
        (("sh", "-c", "for i in 1 2 3; do echo $i; sleep 2; done"), (6.0, 0)),
        (("sh", "-ec", "false; sleep 9"), (0.0, 1)),
        (("sh", "-c", "set -e; ! false; sleep 1"), (1.0, 0)),
        (("sh", "-c", "if [ -e /x ]; then exit 3; else exit 4; fi"), (0.0, 4)),
        (("sh", "-c", "touch /x; if test -f /x; then exit 3; fi"), (0.0, 3)),
        (("sh", "-c", "sleep 10 & sleep 2; wait"), (10.0, 0)),
        (("sh", "-c", "(exit 5); echo $?"), (0.0, 0)),
        (("sh", "-c", "rm /missing"), (0.0, 1)),
        (("sh", "-c", "exec sleep 7"), (7.0, 0)),
        (("sh", "-c", "exit 300"), (0.0, 44)),
        (("sh", "-c", "X=1 sleep 2"), (2.0, 0)),
    ],
)
def test_shell_exits(argv: tuple[str, ...], expected: tuple[float, int]) -> None:
    """Scripts the interpreter follows exit at the simulated time with their status."""
    assert expected == run(*argv).exit(0)


@pytest.mark.parametrize(
    "argv",
    [
        ("sh", "-c", "while true; do sleep 1; done"),
        ("sh", "-c", "while :; do echo tick; done"),
        ("sleep", "infinity"),
        ("tail", "-f", "/dev/null"),
        ("nginx", "-g", "daemon off;"),
        ("sh", "-c", "echo hi; python app.py; exit 1"),
        ("sh", "-c", "sleep $DELAY"),
        ("sh", "-c", "echo 'unterminated"),
        ("sh", "-c", "case x in x) ;; esac"),
        ("sh", "/entrypoint.sh"),
        ("sh", "-c", "nginx & wait"),
    ],
)
def test_shell_runs_forever(argv: tuple[str, ...]) -> None:
    """Endless loops and anything not simulated run forever, never fail."""
    assert None is run(*argv).exit(0)


def test_shell_image_without_command_exits_at_once() -> None:
    """``kubectl run --image=busybox`` exits 0 at once, so it crash-loops as for real."""
    for image in ("busybox", "docker.io/library/alpine:3.20", "ubuntu@sha256:abc", "debian:12"):
        assert (0.0, 0) == script_for(Container(name="a", image=image), {}).exit(0)


def test_server_image_without_command_runs_forever() -> None:
    """An nginx container with no command runs until stopped."""
    assert None is script_for(Container(name="a", image="nginx:1.27"), {}).exit(0)


def test_args_without_command_are_the_argv() -> None:
    """Images have no ENTRYPOINT: ``args`` alone are the command line."""
    container = Container(name="a", image="busybox", args=("sleep", "3"))
    assert (3.0, 0) == script_for(container, {}).exit(0)


def test_shell_file_timeline() -> None:
    """touch, redirections and rm make file windows; rm -rf removes a whole tree."""
    script = sh("touch /a; echo x > /d/b; sleep 5; rm -f /a; sleep 5; rm -rf /d; sleep 99")
    assert (("/a", Window(0.0, 5.0)), ("/d/b", Window(0.0, 10.0))) == script.files


# -- probes ----------------------------------------------------------------------------------


def test_probes_fail_before_start() -> None:
    """Before ``start`` seconds every probe of every kind fails."""
    script = parse("start=10s")
    kinds: tuple[ProbeKind, ...] = ("startup", "liveness", "readiness")
    assert [False] * 3 == [script.probe_ok(kind, HTTP, 9.99) for kind in kinds]
    assert [True] * 3 == [script.probe_ok(kind, HTTP, 10.0) for kind in kinds]


def test_failure_windows_apply_to_their_kind() -> None:
    """``unready`` fails readiness, ``unhealthy`` liveness; startup ignores both."""
    script = parse("unready=30s..60s; unhealthy=40s..")
    tcp = Probe(tcp_socket=TCPSocketAction(port=80))
    kinds: tuple[ProbeKind, ...] = ("startup", "liveness", "readiness")
    outcomes = {
        kind: [script.probe_ok(kind, tcp, t) for t in (29.0, 30.0, 45.0, 60.0)] for kind in kinds
    }
    assert {
        "startup": [True, True, True, True],
        "liveness": [True, True, False, False],
        "readiness": [True, False, False, True],
    } == outcomes


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (("cat", "/tmp/ready"), [False, True, False]),
        (("test", "-e", "/tmp/ready"), [False, True, False]),
        (("ls", "-l", "/tmp/ready"), [False, True, False]),
        (("stat", "/tmp/ready"), [False, True, False]),
        (("sh", "-c", "[ ! -f /tmp/ready ]"), [True, False, True]),
        (("sh", "-c", "cat /tmp/ready && exit 0 || exit 1"), [False, True, False]),
        (("true",), [True, True, True]),
        (("false",), [False, False, False]),
        (("/bin/sh", "-c", "exit 2"), [False, False, False]),
        (("curl", "-f", "http://localhost/"), [True, True, True]),
    ],
)
def test_exec_probe_uses_file_timeline(command: tuple[str, ...], expected: list[bool]) -> None:
    """Recognised exec probes read the files; unknown ones behave like HTTP probes."""
    script = sh("sleep 10; touch /tmp/ready; sleep 10; rm /tmp/ready; sleep 99")
    probe = exec_probe(*command)
    assert expected == [script.probe_ok("readiness", probe, t) for t in (5.0, 15.0, 25.0)]


def test_failure_window_fails_exec_probes_too() -> None:
    """A failure window fails every probe of its kind, whatever its handler."""
    script = parse("unhealthy=5s..")
    assert False is script.probe_ok("liveness", exec_probe("true"), 6.0)


def test_next_change_of_constant_probe_is_none() -> None:
    """A probe that never changes has no next change."""
    assert None is Script().next_change("readiness", HTTP, 0.0)


paths = st.sampled_from(["/a", "/b"])
probes = st.sampled_from(
    [
        HTTP,
        exec_probe("cat", "/a"),
        exec_probe("test", "-e", "/b"),
        exec_probe("sh", "-c", "cat /a && ! test -e /b"),
        exec_probe("curl", "localhost"),
        exec_probe("false"),
    ]
)
small_windows = st.builds(
    lambda start, length: Window(start, None if length is None else start + length),
    st.integers(0, 100).map(float),
    st.none() | st.integers(1, 50).map(float),
)
probe_scripts = st.builds(
    Script,
    start=st.integers(0, 50).map(float),
    unready=st.lists(small_windows, max_size=3).map(tuple),
    unhealthy=st.lists(small_windows, max_size=3).map(tuple),
    files=st.lists(st.tuples(paths, small_windows), max_size=4).map(tuple),
)
probe_kinds = st.sampled_from(["startup", "liveness", "readiness"])


@given(probe_scripts, probe_kinds, probes, st.floats(min_value=0, max_value=200))
def test_next_change_never_misses_a_change(
    script: Script, kind: ProbeKind, probe: Probe, t: float
) -> None:
    """probe_ok is constant on [t, next_change); with None, constant for a long horizon."""
    now = script.probe_ok(kind, probe, t)
    change = script.next_change(kind, probe, t)
    assert change is None or change > t
    end = 1000.0 if change is None else change
    samples = [t + (end - t) * k / 64 for k in range(64)] + [math.nextafter(end, -math.inf)]
    inside = [s for s in samples if t <= s < end]
    assert [now] * len(inside) == [script.probe_ok(kind, probe, s) for s in inside]
