"""Parse MLflow search filters and order_by clauses into a small typed AST.

The grammar (``grammar.lark``) only knows the shape of the language; this module checks which
keys, operators and values go together for each kind of search (runs, experiments, registered
models, model versions) and reports every problem as ``INVALID_PARAMETER_VALUE`` with the key,
the operator and the 1-based character position.

    >>> parse_filter("metrics.acc > 0.9 and tags.`mlflow.user` = 'ana'")
    [Comparison(entity_type='metric', key='acc', op='>', value=0.9, position=1),
     Comparison(entity_type='tag', key='mlflow.user', op='=', value='ana', position=23)]

Nothing here touches a database; ``sql.py`` compiles the AST to SQLAlchemy clauses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from labtrack.errors import LabtrackException

EntityType: TypeAlias = Literal["metric", "param", "tag", "attribute", "dataset"]
SearchKind: TypeAlias = Literal[
    "run", "experiment", "registered_model", "model_version", "logged_model"
]
Value: TypeAlias = "int | float | str | tuple[int | float | str, ...] | None"

# Normalised operators.
NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")
EQUALITY_OPS = ("=", "!=", "IN", "NOT IN")

_PREFIXES: dict[str, EntityType] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}


@dataclass(frozen=True)
class Comparison:
    """One ``key op value`` clause. ``op`` is normalised (upper case, single spaces)."""

    entity_type: EntityType
    key: str
    op: str
    value: Value
    position: int = 0  # 1-based character position of the key in the filter

    @property
    def kind(self) -> EntityType:
        """``entity_type``, by the name logged-model conditions had."""
        return self.entity_type


@dataclass(frozen=True)
class OrderBy:
    """One order_by clause: ``key [ASC|DESC]``."""

    entity_type: EntityType
    key: str
    ascending: bool = True


@dataclass(frozen=True)
class _KeySpec:
    ops: tuple[str, ...]
    value_type: Literal["number", "string", "integer"]


# Which entity types, attributes, operators and value types each kind of search accepts.
# Attribute names map to a canonical name that sql.py knows how to compile.
_TIME_ATTR = _KeySpec(NUMERIC_OPS, "number")
_RUN_ATTRIBUTES: dict[str, tuple[str, _KeySpec]] = {
    "run_name": ("run_name", _KeySpec(STRING_OPS, "string")),
    "status": ("status", _KeySpec(STRING_OPS, "string")),
    "user_id": ("user_id", _KeySpec(STRING_OPS, "string")),
    "artifact_uri": ("artifact_uri", _KeySpec(STRING_OPS, "string")),
    "lifecycle_stage": ("lifecycle_stage", _KeySpec(STRING_OPS, "string")),
    "run_id": ("run_id", _KeySpec(EQUALITY_OPS, "string")),
    "start_time": ("start_time", _TIME_ATTR),
    "end_time": ("end_time", _TIME_ATTR),
    "created": ("start_time", _TIME_ATTR),
}
_EXPERIMENT_ATTRIBUTES: dict[str, tuple[str, _KeySpec]] = {
    "name": ("name", _KeySpec(STRING_OPS, "string")),
    "creation_time": ("creation_time", _TIME_ATTR),
    "last_update_time": ("last_update_time", _TIME_ATTR),
    "experiment_id": ("experiment_id", _KeySpec(EQUALITY_OPS, "integer")),
}
_REGISTERED_MODEL_ATTRIBUTES: dict[str, tuple[str, _KeySpec]] = {
    "name": ("name", _KeySpec(STRING_OPS, "string")),
}
_MODEL_VERSION_ATTRIBUTES: dict[str, tuple[str, _KeySpec]] = {
    "name": ("name", _KeySpec(STRING_OPS, "string")),
    "run_id": ("run_id", _KeySpec(EQUALITY_OPS, "string")),
    "source_path": ("source_path", _KeySpec(STRING_OPS, "string")),
    "version_number": ("version_number", _KeySpec((*NUMERIC_OPS, "IN", "NOT IN"), "integer")),
    "version": ("version_number", _KeySpec((*NUMERIC_OPS, "IN", "NOT IN"), "integer")),
}
# Logged models: the attributes and operators labtrack's logged-model search has always taken
# (strings also compare with < and >; times and experiment ids with IN).
_LM_TEXT_ATTR = _KeySpec((*NUMERIC_OPS, "LIKE", "ILIKE", "IN", "NOT IN"), "string")
_LM_NUMBER_ATTR = _KeySpec((*NUMERIC_OPS, "IN", "NOT IN"), "number")
_LOGGED_MODEL_ATTRIBUTES: dict[str, tuple[str, _KeySpec]] = {
    "model_id": ("model_id", _LM_TEXT_ATTR),
    "name": ("name", _LM_TEXT_ATTR),
    "status": ("status", _LM_TEXT_ATTR),
    "model_type": ("model_type", _LM_TEXT_ATTR),
    "source_run_id": ("source_run_id", _LM_TEXT_ATTR),
    "experiment_id": ("experiment_id", _LM_NUMBER_ATTR),
    "creation_timestamp": ("creation_timestamp", _LM_NUMBER_ATTR),
    "creation_time": ("creation_timestamp", _LM_NUMBER_ATTR),
    "creation_timestamp_ms": ("creation_timestamp", _LM_NUMBER_ATTR),
    "last_updated_timestamp": ("last_updated_timestamp", _LM_NUMBER_ATTR),
    "last_updated_time": ("last_updated_timestamp", _LM_NUMBER_ATTR),
    "last_updated_timestamp_ms": ("last_updated_timestamp", _LM_NUMBER_ATTR),
}
_DATASET_KEYS: dict[str, tuple[str, _KeySpec]] = {
    "name": ("name", _KeySpec(STRING_OPS, "string")),
    "digest": ("digest", _KeySpec(STRING_OPS, "string")),
    "context": ("context", _KeySpec(STRING_OPS, "string")),
}
_METRIC_SPEC = _KeySpec(NUMERIC_OPS, "number")
_TEXT_SPEC = _KeySpec(STRING_OPS + NULL_OPS, "string")
_LM_TEXT_SPEC = _KeySpec(STRING_OPS, "string")  # logged-model params and tags: no IS NULL

_ATTRIBUTES: dict[SearchKind, dict[str, tuple[str, _KeySpec]]] = {
    "run": _RUN_ATTRIBUTES,
    "experiment": _EXPERIMENT_ATTRIBUTES,
    "registered_model": _REGISTERED_MODEL_ATTRIBUTES,
    "model_version": _MODEL_VERSION_ATTRIBUTES,
    "logged_model": _LOGGED_MODEL_ATTRIBUTES,
}
_ENTITY_TYPES: dict[SearchKind, tuple[EntityType, ...]] = {
    "run": ("metric", "param", "tag", "attribute", "dataset"),
    "experiment": ("tag", "attribute"),
    "registered_model": ("tag", "attribute"),
    "model_version": ("tag", "attribute"),
    "logged_model": ("metric", "param", "tag", "attribute"),
}
_KIND_NAMES: dict[SearchKind, str] = {
    "run": "runs",
    "experiment": "experiments",
    "registered_model": "registered models",
    "model_version": "model versions",
    "logged_model": "logged models",
}

# Order_by keys per kind (attribute name -> canonical name). Metrics/params/tags: runs only.
_ORDER_ATTRIBUTES: dict[SearchKind, dict[str, str]] = {
    "run": {
        "start_time": "start_time",
        "created": "start_time",
        "end_time": "end_time",
        "run_name": "run_name",
        "status": "status",
        "run_id": "run_id",
        "user_id": "user_id",
        "artifact_uri": "artifact_uri",
        "lifecycle_stage": "lifecycle_stage",
    },
    "experiment": {
        "name": "name",
        "experiment_id": "experiment_id",
        "creation_time": "creation_time",
        "last_update_time": "last_update_time",
    },
    "registered_model": {
        "name": "name",
        "creation_timestamp": "creation_time",
        "creation_time": "creation_time",
        "last_updated_timestamp": "last_updated_time",
        "last_updated_time": "last_updated_time",
        "timestamp": "last_updated_time",
    },
    "model_version": {
        "name": "name",
        "version_number": "version_number",
        "version": "version_number",
        "creation_timestamp": "creation_time",
        "creation_time": "creation_time",
        "last_updated_timestamp": "last_updated_time",
        "last_updated_time": "last_updated_time",
        "timestamp": "last_updated_time",
        "run_id": "run_id",
    },
    "logged_model": {name: canonical for name, (canonical, _) in _LOGGED_MODEL_ATTRIBUTES.items()},
}
_ORDER_ENTITY_TYPES: dict[SearchKind, tuple[EntityType, ...]] = {
    "run": ("metric", "param", "tag", "attribute"),
    "experiment": ("attribute",),
    "registered_model": ("attribute",),
    "model_version": ("attribute",),
    "logged_model": ("attribute",),
}

_TERMINAL_NAMES = {
    "AND": "AND",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
    "IN": "IN",
    "NOT": "NOT",
    "IS": "IS",
    "NULL": "NULL",
    "ASC": "ASC",
    "DESC": "DESC",
    "COMP_OP": "a comparison operator",
    "LEGACY_OP": "a comparison operator",
    "IDENT": "a key",
    "BACKTICK_NAME": "a `quoted` key",
    "SQ_STRING": "a 'string'",
    "DQ_STRING": 'a "string"',
    "NUMBER": "a number",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "end of input",
    "<END-OF-FILE>": "end of input",
}
# The order in which expected things are listed in messages.
_TERMINAL_ORDER = list(_TERMINAL_NAMES)

_MAX_ECHO = 300  # longest filter echoed back in an error message
# Bounds on one filter, so a crafted one cannot hold a worker or the memory: MLflow sets none,
# but no search a person or a UI writes comes near them (10,000 run ids in an IN list are
# ~400,000 characters). The database has its own limits (SQLite: expression depth 1,000).
MAX_FILTER_CHARS = 500_000
MAX_FILTER_CLAUSES = 100
MAX_IN_VALUES = 10_000


def _invalid(message: str) -> LabtrackException:
    return LabtrackException(message, "INVALID_PARAMETER_VALUE")


@functools.cache
def _lark() -> Lark:
    grammar = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["filter", "logged_model_filter", "order_by"],
        propagate_positions=False,
        maybe_placeholders=False,
    )


# --------------------------------------------------------------------------------------------
# Raw tree -> raw clauses (no semantic checks yet)


@dataclass(frozen=True)
class _RawKey:
    prefix: str | None  # text before the first dot, None for a bare attribute name
    name: str
    text: str  # the key as written
    position: int


@dataclass(frozen=True)
class _RawOp:
    op: str
    position: int


@dataclass(frozen=True)
class _RawValue:
    value: Value
    kind: Literal["number", "string", "null", "tuple"]
    position: int


@dataclass(frozen=True)
class _RawClause:
    key: _RawKey
    op: str
    op_position: int
    value: Value
    value_kind: Literal["number", "string", "null", "tuple"]
    value_position: int


_ESCAPE_RE = re.compile(r"\\(.)|''|\"\"", re.DOTALL)


def _unquote(token: str) -> str:
    """Strip the quotes of a string literal and resolve escapes.

    ``\\'``, ``\\"`` and ``\\\\`` (and SQL-style doubled quotes) stand for one character; any
    other backslash sequence is kept as written, so LIKE escapes such as ``\\%`` survive.
    """
    body = token[1:-1]

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)[0]
        ch = m.group(1)
        return ch if ch in "'\"\\" else "\\" + ch

    return _ESCAPE_RE.sub(repl, body)


def _parse_number(text: str) -> int | float:
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return float(text)


def _pos(tok: Token) -> int:
    return (tok.start_pos or 0) + 1


class _ToRaw(Transformer[Token, object]):
    def bare_key(self, items: list[Token]) -> _RawKey:
        (tok,) = items
        text = str(tok)
        if "." in text:
            prefix, name = text.split(".", 1)
            return _RawKey(prefix, name, text, _pos(tok))
        return _RawKey(None, text, text, _pos(tok))

    def quoted_key(self, items: list[Token]) -> _RawKey:
        ident, quoted = items
        text = f"{ident}{quoted}"
        prefix = str(ident)
        if not prefix.endswith("."):
            raise _invalid_key(
                text, _pos(ident), "a quoted key name must follow a prefix and a dot"
            )
        prefix = prefix[:-1]
        name = str(quoted)[1:-1] if quoted.type == "BACKTICK_NAME" else _unquote(str(quoted))
        return _RawKey(prefix, name, text, _pos(ident))

    def quoted_attribute_key(self, items: list[Token]) -> _RawKey:
        (quoted,) = items
        name = str(quoted)[1:-1] if quoted.type == "BACKTICK_NAME" else _unquote(str(quoted))
        return _RawKey(None, name, str(quoted), _pos(quoted))

    def comp_op(self, items: list[Token]) -> _RawOp:
        return _RawOp(str(items[0]), _pos(items[0]))

    def legacy_op(self, items: list[Token]) -> _RawOp:
        return _RawOp({"==": "=", "<>": "!="}[str(items[0])], _pos(items[0]))

    def like_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("LIKE", _pos(items[0]))

    def ilike_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("ILIKE", _pos(items[0]))

    def in_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("IN", _pos(items[0]))

    def not_in_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("NOT IN", _pos(items[0]))

    def is_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("IS", _pos(items[0]))

    def is_not_op(self, items: list[Token]) -> _RawOp:
        return _RawOp("IS NOT", _pos(items[0]))

    def number(self, items: list[Token]) -> _RawValue:
        return _RawValue(_parse_number(str(items[0])), "number", _pos(items[0]))

    def string(self, items: list[Token]) -> _RawValue:
        return _RawValue(_unquote(str(items[0])), "string", _pos(items[0]))

    def null(self, items: list[Token]) -> _RawValue:
        return _RawValue(None, "null", _pos(items[0]))

    def value_list(self, items: list[object]) -> _RawValue:
        lpar = items[0]
        assert isinstance(lpar, Token)
        values: list[int | float | str] = []
        for item in items[1:]:
            if isinstance(item, _RawValue):  # skip the COMMA / RPAR tokens
                assert isinstance(item.value, (int, float, str))
                values.append(item.value)
        return _RawValue(tuple(values), "tuple", _pos(lpar))

    def clause(self, items: list[object]) -> _RawClause:
        key, op, value = items
        assert isinstance(key, _RawKey)
        assert isinstance(op, _RawOp)
        assert isinstance(value, _RawValue)
        return _RawClause(key, op.op, op.position, value.value, value.kind, value.position)

    lm_clause = clause

    def filter(self, items: list[object]) -> list[_RawClause]:
        return [i for i in items if isinstance(i, _RawClause)]

    logged_model_filter = filter

    def direction(self, items: list[Token]) -> bool:
        return str(items[0]).upper() == "ASC"

    def order_by(self, items: list[object]) -> tuple[_RawKey, bool]:
        key = items[0]
        assert isinstance(key, _RawKey)
        ascending = items[1] if len(items) > 1 else True
        assert isinstance(ascending, bool)
        return key, ascending


def _invalid_key(text: str, position: int, why: str) -> LabtrackException:
    return _invalid(f"invalid key '{text}' at position {position}: {why}")


# --------------------------------------------------------------------------------------------
# Syntax errors


def _echo(text: str) -> str:
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."


def _expected(names: set[str] | frozenset[str]) -> str:
    known = [n for n in _TERMINAL_ORDER if n in names]
    labels = [_TERMINAL_NAMES[n] for n in known]
    labels += sorted(n for n in names if n not in _TERMINAL_NAMES and not n.startswith("__"))
    labels = list(dict.fromkeys(labels))
    if not labels:
        return ""
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def _word_at(text: str, pos: int) -> str:
    m = re.compile(r"\w+|\S").match(text, pos)
    return m.group(0) if m else text[pos : pos + 1]


def _syntax_error(what: str, text: str, err: UnexpectedInput) -> LabtrackException:
    prefix = f"Invalid {what} '{_echo(text)}': "
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        names = {str(n) for n in err.expected}
        return _invalid(f"{prefix}unexpected end of input; expected {_expected(names)}")
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        ch = text[pos]
        if ch in "'\"`" and text.count(ch, pos) % 2 == 1:
            return _invalid(f"{prefix}unterminated quote {ch} at position {pos + 1}")
        word = _word_at(text, pos)
        allowed = set(err.allowed or ())
        if allowed & {"AND", "ASC"}:  # a complete clause: the input may also end here
            allowed.add("$END")
        expected_text = _expected(allowed)
    elif isinstance(err, UnexpectedToken):
        pos = err.token.start_pos or 0
        word = _word_at(text, pos) if str(err.token) else err.token.type
        expected_text = _expected({str(n) for n in (err.accepts or err.expected)})
    else:  # pragma: no cover - lark has no other subclasses
        return _invalid(f"{prefix}{err}")
    hint = ""
    if word.upper() == "OR":
        hint = " (OR is not supported; join clauses with AND)"
    elif word in (";", "--"):
        hint = " (only one filter expression is allowed)"
    return _invalid(
        f"{prefix}unexpected '{word}' at position {pos + 1}; expected {expected_text}{hint}"
    )


# --------------------------------------------------------------------------------------------
# Semantic checks


def _entity_type(key: _RawKey, allowed: tuple[EntityType, ...], kind: SearchKind) -> EntityType:
    if key.prefix is None:
        return "attribute"
    entity = _PREFIXES.get(key.prefix.lower())
    if entity is None:
        # `foo.bar` with an unknown prefix: maybe an attribute name containing a dot? No
        # attribute has one, so report the prefix.
        valid = ", ".join(f"{p}." for p in _prefix_names(allowed))
        raise _invalid_key(
            key.text, key.position, f"unknown prefix '{key.prefix}.'; valid prefixes: {valid}"
        )
    if entity not in allowed:
        raise _invalid_key(
            key.text,
            key.position,
            f"{entity} keys cannot be used when searching {_KIND_NAMES[kind]}",
        )
    if not key.name:
        raise _invalid_key(key.text, key.position, "the key name is empty")
    return entity


def _prefix_names(allowed: tuple[EntityType, ...]) -> list[str]:
    seen: list[str] = []
    for prefix, entity in _PREFIXES.items():
        if entity in allowed and prefix not in ("metric", "param", "tag", "attribute", "dataset"):
            seen.append(prefix)
    return seen


def _op_text(op: str, kind: str) -> str:
    if op in ("IS", "IS NOT"):
        return op + " NULL" if kind == "null" else op
    return op


def _check_clause(raw: _RawClause, kind: SearchKind) -> Comparison:
    key = raw.key
    entity = _entity_type(key, _ENTITY_TYPES[kind], kind)
    name = key.name

    # Normalise IS / IS NOT.
    op = raw.op
    where = f"'{key.text} {_op_text(op, raw.value_kind)}' at position {key.position}"
    if op in ("IS", "IS NOT"):
        if raw.value_kind != "null":
            raise _invalid(f"{where}: IS and IS NOT must be followed by NULL")
        op = op + " NULL"
    elif raw.value_kind == "null":
        raise _invalid(f"{where}: NULL can only be used with IS NULL or IS NOT NULL")
    if op in ("IN", "NOT IN") and raw.value_kind != "tuple":
        raise _invalid(f"{where}: {op} needs a parenthesised list of values, e.g. ('a', 'b')")
    if raw.value_kind == "tuple" and len(raw.value) > MAX_IN_VALUES:  # type: ignore[arg-type]
        raise _invalid(f"{where}: a list has at most {MAX_IN_VALUES} values")
    if raw.value_kind == "tuple" and op not in ("IN", "NOT IN"):
        raise _invalid(f"{where}: a list of values can only be used with IN or NOT IN")
    where = f"'{key.text} {op}' at position {key.position}"

    if entity == "metric":
        spec = _METRIC_SPEC
        label = "metrics"
    elif entity in ("param", "tag"):
        spec = _LM_TEXT_SPEC if kind == "logged_model" else _TEXT_SPEC
        label = "params" if entity == "param" else "tags"
    elif entity == "dataset":
        found = _DATASET_KEYS.get(name.lower())
        if found is None:
            raise _invalid_key(
                key.text,
                key.position,
                f"unknown dataset key; valid keys: {', '.join(_DATASET_KEYS)}",
            )
        name, spec = found
        label = f"datasets.{name}"
    else:
        attributes = _ATTRIBUTES[kind]
        found = attributes.get(name) or attributes.get(name.lower())
        if found is None:
            raise _invalid_key(
                key.text,
                key.position,
                f"unknown attribute '{name}' for {_KIND_NAMES[kind]}; valid attributes: "
                + ", ".join(attributes),
            )
        name, spec = found
        label = f"attribute '{name}'"

    if op not in spec.ops:
        raise _invalid(
            f"{where}: operator {op} is not supported for {label}; supported: {', '.join(spec.ops)}"
        )
    value = _check_value(raw, spec, op, where, label)
    return Comparison(entity, name, op, value, key.position)


def _check_value(raw: _RawClause, spec: _KeySpec, op: str, where: str, label: str) -> Value:
    if op in NULL_OPS:
        return None
    items = raw.value if isinstance(raw.value, tuple) else (raw.value,)
    if not items:
        raise _invalid(f"{where}: the list of values is empty")
    if raw.value_kind == "tuple":
        kinds = {"number" if isinstance(v, (int, float)) else "string" for v in items}
    else:
        kinds = {raw.value_kind}
    checked: list[int | float | str] = []
    if spec.value_type == "number":
        if kinds != {"number"}:
            raise _invalid(
                f"{where}: {label} must be compared with a number (unquoted), "
                f"got {_show(raw.value)} at position {raw.value_position}"
            )
        checked = [float(v) if label == "metrics" else v for v in _scalars(items)]
    elif spec.value_type == "integer":
        for v in _scalars(items):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
                v = int(v)
            if not isinstance(v, int):
                raise _invalid(
                    f"{where}: {label} must be compared with an integer, "
                    f"got {_show(v)} at position {raw.value_position}"
                )
            checked.append(v)
    else:
        if kinds != {"string"}:
            raise _invalid(
                f"{where}: {label} must be compared with a quoted string, "
                f"got {_show(raw.value)} at position {raw.value_position}"
            )
        checked = list(_scalars(items))
        if op in ("LIKE", "ILIKE"):
            pattern = str(checked[0])
            trailing = len(pattern) - len(pattern.rstrip("\\"))
            if trailing % 2 == 1:
                raise _invalid(f"{where}: a LIKE pattern must not end with a lone backslash")
    if raw.value_kind == "tuple":
        return tuple(checked)
    return checked[0]


def _scalars(items: tuple[object, ...]) -> list[int | float | str]:
    out: list[int | float | str] = []
    for item in items:
        assert isinstance(item, (int, float, str))
        out.append(item)
    return out


def _show(value: Value) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


class _TooManyConditions(Exception):
    pass


def _parse_bounded(text: str, start: str) -> Any:
    """The parse tree of ``text``, refused at its ``MAX_FILTER_CLAUSES``-th AND (counted as
    the parser reads tokens): a filter of thousands of conditions is turned away before its
    tree is built (that took ~1 s and ~50 MB for 500,000 characters)."""
    parser = _lark().parse_interactive(text, start=start)
    ands = 0
    try:
        for token in parser.iter_parse():
            if token.type == "AND":
                ands += 1
                if ands >= MAX_FILTER_CLAUSES:
                    raise _TooManyConditions
        return parser.feed_eof()
    except UnexpectedInput as err:
        # As lark's own parse does: what the parser would have accepted there (the message
        # lists it, end of input included).
        if getattr(err, "interactive_parser", None) is None:
            err.interactive_parser = parser
        raise


# --------------------------------------------------------------------------------------------
# Public API


def parse_filter(filter_string: str | None, kind: SearchKind = "run") -> list[Comparison]:
    """Parse a search filter into comparisons (joined by AND). Empty or blank: ``[]``.

    Raises ``LabtrackException(..., "INVALID_PARAMETER_VALUE")`` on any syntax or type error.
    """
    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise _invalid(f"Invalid filter {filter_string!r}: expected a string")
    if not filter_string.strip():
        return []
    if len(filter_string) > MAX_FILTER_CHARS:
        raise _invalid(
            f"Invalid filter '{_echo(filter_string)}': longer than {MAX_FILTER_CHARS} characters."
        )
    start = "logged_model_filter" if kind == "logged_model" else "filter"
    try:
        tree = _parse_bounded(filter_string, start)
    except UnexpectedInput as err:
        raise _syntax_error("filter", filter_string, err) from None
    except _TooManyConditions:
        raise _invalid(
            f"Invalid filter '{_echo(filter_string)}': more than {MAX_FILTER_CLAUSES} "
            f"conditions; a filter has at most {MAX_FILTER_CLAUSES}."
        ) from None
    try:
        raw = _ToRaw().transform(tree)
    except Exception as err:  # lark wraps errors raised in callbacks
        inner = getattr(err, "orig_exc", err)
        if isinstance(inner, LabtrackException):
            raise _invalid(f"Invalid filter '{_echo(filter_string)}': {inner.message}") from None
        raise
    assert isinstance(raw, list)
    if len(raw) > MAX_FILTER_CLAUSES:
        raise _invalid(
            f"Invalid filter '{_echo(filter_string)}': {len(raw)} conditions; a filter has at "
            f"most {MAX_FILTER_CLAUSES}."
        )
    try:
        return [_check_clause(c, kind) for c in raw]
    except LabtrackException as err:
        raise _invalid(f"Invalid filter '{_echo(filter_string)}': {err.message}") from None


def parse_order_by(order_by: list[str] | None, kind: SearchKind = "run") -> list[OrderBy]:
    """Parse order_by clauses (``"<key> [ASC|DESC]"``). ``None`` or ``[]``: ``[]``."""
    if not order_by:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    return [_parse_one_order_by(clause, kind) for clause in order_by]


def _parse_one_order_by(clause: str, kind: SearchKind) -> OrderBy:
    if not isinstance(clause, str) or not clause.strip():
        raise _invalid(f"Invalid order_by clause {clause!r}: expected '<key> [ASC|DESC]'")
    echo = f"Invalid order_by clause '{_echo(clause)}': "
    try:
        tree = _lark().parse(clause, start="order_by")
        parsed = _ToRaw().transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error("order_by clause", clause, err) from None
    except Exception as err:
        inner = getattr(err, "orig_exc", err)
        if isinstance(inner, LabtrackException):
            raise _invalid(echo + inner.message) from None
        raise
    assert isinstance(parsed, tuple)
    key, ascending = parsed
    assert isinstance(key, _RawKey)
    assert isinstance(ascending, bool)
    try:
        entity = _entity_type(key, _ORDER_ENTITY_TYPES[kind], kind)
    except LabtrackException as err:
        raise _invalid(echo + err.message) from None
    name = key.name
    if entity == "attribute":
        attributes = _ORDER_ATTRIBUTES[kind]
        canonical = attributes.get(name) or attributes.get(name.lower())
        if canonical is None:
            raise _invalid(
                f"{echo}unknown attribute '{name}' at position {key.position}; "
                f"valid keys: {', '.join(attributes)}"
            )
        name = canonical
    return OrderBy(entity, name, ascending)
