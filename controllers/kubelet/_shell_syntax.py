"""
Private: the syntax of the POSIX-shell subset that container commands use.

:func:`parse` turns a script into a tree of frozen commands
(a :class:`CommandList` of :class:`AndOr` lists of pipelines of
:data:`Command` values) that :mod:`controllers.kubelet._shell` walks. Supported:
``;``, ``&&``, ``||``, newlines, ``!``, pipes, ``&``, ``{ }``, ``( )``,
``if``/``elif``/``else``, ``while``/``until``, ``for x in words`` and
redirections. Words are split and unquoted as :mod:`shlex` does; expansions
are left in them for the interpreter to refuse.

Anything else, or a syntax error, raises :class:`Forever`: the interpreter
then takes the process to run forever.
"""

from __future__ import annotations

import shlex

import attrs

__all__ = [
    "AndOr",
    "Command",
    "CommandList",
    "For",
    "Forever",
    "Group",
    "If",
    "Loop",
    "Pipeline",
    "Simple",
    "parse",
]

_PUNCT = "();<>|&\n"
_OPERATORS = ("&&", "||", ";;", ">>", ">&", "&>", "<<", ";", "&", "|", "(", ")", "<", ">", "\n")
_REDIRECTS = frozenset({">", ">>", ">&", "&>", "<"})


class Forever(Exception):  # noqa: N818 - a control-flow signal, not an error
    """From this point on the script runs forever (or does something not simulated)."""


@attrs.frozen
class Simple:
    """A command with its words (name first) and its ``(operator, target)`` redirections."""

    words: tuple[str, ...]
    redirects: tuple[tuple[str, str], ...]


@attrs.frozen
class Pipeline:
    """Commands joined by ``|``, ``negate`` when it starts with ``!``."""

    commands: tuple[Command, ...]
    negate: bool


@attrs.frozen
class AndOr:
    """Pipelines joined by ``&&`` / ``||``: ``rest`` holds ``(operator, pipeline)`` pairs."""

    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...]


@attrs.frozen
class CommandList:
    """And-or lists separated by ``;``, newlines or ``&`` (then run in the background)."""

    items: tuple[tuple[AndOr, bool], ...]  # (and-or list, runs in background)


@attrs.frozen
class Loop:
    """``while cond; do body; done``, or ``until`` when ``until`` is set."""

    cond: CommandList
    body: CommandList
    until: bool


@attrs.frozen
class For:
    """``for x in words; do body; done``: the body runs once per word."""

    words: tuple[str, ...]
    body: CommandList


@attrs.frozen
class If:
    """``if``/``elif`` ``(condition, body)`` branches and the ``else`` body, if any."""

    branches: tuple[tuple[CommandList, CommandList], ...]
    otherwise: CommandList | None


@attrs.frozen
class Group:
    """``{ body; }``, or ``( body )`` when ``subshell`` is set."""

    body: CommandList
    subshell: bool


Command = Simple | Loop | For | If | Group  # what a pipeline joins


def _tokenize(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=_PUNCT)
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        raw = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        raise Forever from exc
    tokens: list[str] = []
    for token in raw:
        if token and all(c in _PUNCT for c in token):
            # shlex glues adjacent punctuation (";\n", ")&&"): split greedily.
            rest = token
            while rest:
                op = next(o for o in _OPERATORS if rest.startswith(o))
                tokens.append(op)
                rest = rest[len(op) :]
        else:
            tokens.append(token)
    return tokens


@attrs.define
class _Parser:
    tokens: list[str]
    pos: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise Forever
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        if self.take() != token:
            raise Forever

    def skip_separators(self) -> None:
        while self.peek() in (";", "\n"):
            self.pos += 1

    def list_(self, stop: frozenset[str]) -> CommandList:
        items: list[tuple[AndOr, bool]] = []
        self.skip_separators()
        while (token := self.peek()) is not None and token not in stop:
            and_or = self.and_or()
            background = self.peek() == "&"
            if background or self.peek() in (";", "\n"):
                self.pos += 1
            elif self.peek() is not None and self.peek() not in stop:
                raise Forever
            items.append((and_or, background))
            self.skip_separators()
        return CommandList(tuple(items))

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest: list[tuple[str, Pipeline]] = []
        while (op := self.peek()) in ("&&", "||"):
            self.pos += 1
            while self.peek() == "\n":
                self.pos += 1
            rest.append((str(op), self.pipeline()))
        return AndOr(first, tuple(rest))

    def pipeline(self) -> Pipeline:
        negate = self.peek() == "!"
        if negate:
            self.pos += 1
        commands = [self.command()]
        while self.peek() == "|":
            self.pos += 1
            commands.append(self.command())
        return Pipeline(tuple(commands), negate)

    def command(self) -> Command:
        command: Command
        match self.peek():
            case "while" | "until" as keyword:
                self.pos += 1
                cond = self.list_(frozenset({"do"}))
                self.expect("do")
                command = Loop(cond, self.list_(frozenset({"done"})), keyword == "until")
                self.expect("done")
            case "for":
                self.pos += 1
                self.take()  # the variable
                words: list[str] = []
                if self.peek() == "in":
                    self.pos += 1
                    while self.peek() not in (";", "\n", None):
                        words.append(self.take())
                self.skip_separators()
                self.expect("do")
                command = For(tuple(words), self.list_(frozenset({"done"})))
                self.expect("done")
            case "if":
                command = self.if_()
            case "{" | "(" as opening:
                self.pos += 1
                closing = "}" if opening == "{" else ")"
                command = Group(self.list_(frozenset({closing})), opening == "(")
                self.expect(closing)
            case _:
                return self.simple()
        self.redirects()  # `done > /dev/null`: nothing to simulate
        return command

    def if_(self) -> If:
        branches: list[tuple[CommandList, CommandList]] = []
        otherwise = None
        keyword = self.take()  # "if", then "elif"
        while keyword in ("if", "elif"):
            cond = self.list_(frozenset({"then"}))
            self.expect("then")
            branches.append((cond, self.list_(frozenset({"elif", "else", "fi"}))))
            keyword = self.take()
        if keyword == "else":
            otherwise = self.list_(frozenset({"fi"}))
            keyword = self.take()
        if keyword != "fi":
            raise Forever
        return If(tuple(branches), otherwise)

    def redirects(self) -> list[tuple[str, str]]:
        found = []
        while (op := self.peek()) in _REDIRECTS:
            self.pos += 1
            found.append((str(op), self.take()))
        return found

    def simple(self) -> Simple:
        words: list[str] = []
        redirects: list[tuple[str, str]] = []
        while (token := self.peek()) is not None:
            if token in _REDIRECTS:
                redirects += self.redirects()
            elif token in _OPERATORS:
                break
            else:
                words.append(self.take())
        if not words and not redirects:
            raise Forever  # a syntax error such as `;;` or `&& x`
        return Simple(tuple(words), tuple(redirects))


def parse(text: str) -> CommandList:
    """
    The command tree of the script ``text``.

    Raises:
        Forever: ``text`` has a syntax error or a construct outside the subset.
    """
    parser = _Parser(_tokenize(text))
    script = parser.list_(frozenset())
    if parser.peek() is not None:
        raise Forever
    return script
