"""Configuration keys as command-line options, built from each key's `Flag` in `Config`.

A key is declared once, in `issuewave.config`; the options of `plan`, `run` and `resume` come from
those declarations. Every option defaults to None, "not given", so the file's value stands.
A key without a `Flag` stops the CLI from importing: every key is a flag, by construction.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer
from pydantic.fields import FieldInfo

from issuewave.config import Command, Config, Flag

Function = TypeVar("Function", bound=Callable[..., Any])
_SCALARS: tuple[type, ...] = (bool, int, float, str)


def flag_of(field: FieldInfo) -> Flag:
    [flag] = [item for item in field.metadata if isinstance(item, Flag)]
    return flag


def keys_of(command: Command) -> list[str]:
    """The keys `command` takes, in the model's order (which is the order of --help)."""
    return [key for key, field in Config.model_fields.items() if command in flag_of(field).commands]


def config_options(command: Command) -> Callable[[Function], Function]:
    """Give the decorated command an option per key of `command`, after its own parameters.

    Typer reads a command's parameters from its signature, so the signature is extended; the
    function receives the keys in its `**kwargs` and hands them to `overrides`.
    """

    def extend(function: Function) -> Function:
        own = inspect.signature(function, eval_str=True).parameters.values()
        kept = [p for p in own if p.kind is not inspect.Parameter.VAR_KEYWORD]
        generated = [_option(key, Config.model_fields[key]) for key in keys_of(command)]
        function.__signature__ = inspect.Signature([*kept, *generated])  # type: ignore[attr-defined]
        return function

    return extend


def overrides(given: Mapping[str, Any]) -> dict[str, Any]:
    """The options as `load_config` takes them: tuples for repeated ones, None still 'not given'."""
    return {key: _setting(Config.model_fields[key], value) for key, value in given.items()}


def _option(key: str, field: FieldInfo) -> inspect.Parameter:
    flag = flag_of(field)
    option = typer.Option(*flag.names, help=flag.help)
    # Built at run time from the key's type, which a static checker cannot follow.
    hint = Annotated[_parsed_as(field, flag) | None, option]  # type: ignore[valid-type]
    return inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)


def _parsed_as(field: FieldInfo, flag: Flag) -> Any:
    """A tuple key is a repeatable option; a key of one plain type parses as it; the rest is
    text for the model to validate (a choice, a duration, a number or a name)."""
    if typing.get_origin(field.annotation) is tuple:
        return list[typing.get_args(field.annotation)[0]]  # type: ignore[misc]
    members = _members(field.annotation)
    if flag.text or len(members) != 1 or members[0] not in _SCALARS:
        return str
    return members[0]


def _setting(field: FieldInfo, value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(value) or None  # a repeatable option given no times was not given
    # A key that is a number or a name (the milestone): digits are the number, as in its URL.
    if isinstance(value, str) and value.isdigit() and {int, str} <= set(_members(field.annotation)):
        return int(value)
    return value


def _members(annotation: Any) -> list[Any]:
    """The types a `T | U | None` annotation allows besides None; `[T]` for a plain one."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    members = typing.get_args(annotation) if union else (annotation,)
    return [m for m in members if m is not type(None)]
