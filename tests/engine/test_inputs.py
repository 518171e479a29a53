"""Inputs: normalisation (flow-api.md §2.5.2), validation rules in order (§2.5.3), inheritance."""

from __future__ import annotations

from typing import Any

import pytest

from hankoflow import errors
from hankoflow.engine import MISSING, AllowedValue, Fail, Flow, FlowContext, Input, Stash
from hankoflow.engine import inputs as fields
from hankoflow.errors import InputError

from .fakes import Go

TEXT_TYPES = [fields.string, fields.email, fields.password]
NOT_STRINGS = [None, 0, 12345, 1.5, True, False, {}, {"a": "b"}, [], ["x"]]


def check(item: Input, value: Any = MISSING) -> InputError | None:
    """Bind ``value`` (MISSING = key not sent), normalise and validate; return the error."""
    item.bind({} if value is MISSING else {item.name: value})
    item.normalize()
    assert item.validate() is (item.error is None)
    return item.error


def allowed(*values: Any) -> tuple[AllowedValue, ...]:
    return tuple(AllowedValue(value, f"name of {value}") for value in values)


# --- rule 1: boolean and json are never validated -----------------------------------------------


@pytest.mark.parametrize("factory", [fields.boolean, fields.json])
@pytest.mark.parametrize("value", [MISSING, None, "", "x" * 100, 5, {"a": 1}, [1], True])
def test_boolean_and_json_inputs_are_never_validated_even_when_required(factory, value):
    item = factory(
        "flag", required=True, min_length=5, max_length=1, allowed_values=allowed("only")
    )
    assert check(item, value) is None


# --- rules 2 and 3: required; non-string values count as empty ----------------------------------


@pytest.mark.parametrize("factory", TEXT_TYPES)
@pytest.mark.parametrize("value", [MISSING, "", *NOT_STRINGS])
def test_required_input_without_a_string_value_is_missing(factory, value):
    assert check(factory("field", required=True), value) == errors.VALUE_MISSING


@pytest.mark.parametrize("factory", TEXT_TYPES)
@pytest.mark.parametrize("value", [MISSING, "", *NOT_STRINGS])
def test_optional_input_without_a_string_value_passes_every_rule(factory, value):
    assert check(factory("field", min_length=3, max_length=5), value) is None


@pytest.mark.parametrize("factory", TEXT_TYPES)
def test_required_false_does_not_require(factory):
    assert check(factory("field", required=False)) is None


def test_missing_error_has_hankos_code_and_message():
    error = check(fields.string("field", required=True), "")
    assert (error.code, error.message, error.cause) == (
        "value_missing_error",
        "The value is missing.",
        None,
    )


# --- rules 4 and 5: lengths in UTF-8 bytes ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "min_length", "max_length", "expected"),
    [
        ("ab", 3, None, errors.VALUE_TOO_SHORT),
        ("abc", 3, None, None),
        ("abcd", None, 4, None),
        ("abcde", None, 4, errors.VALUE_TOO_LONG),
        ("ä", 2, None, None),  # 1 character, 2 bytes
        ("ää", 4, None, None),  # 2 characters, 4 bytes
        ("ää", 5, None, errors.VALUE_TOO_SHORT),
        ("ää", None, 3, errors.VALUE_TOO_LONG),  # 2 characters but 4 bytes
        ("ää", None, 4, None),
        ("€", None, 2, errors.VALUE_TOO_LONG),  # 3 bytes
        ("😀", 4, 4, None),  # 4 bytes
        ("", 3, None, None),  # empty and optional: lengths are not checked
    ],
)
def test_lengths_are_counted_in_utf8_bytes(value, min_length, max_length, expected):
    item = fields.string("field", min_length=min_length, max_length=max_length)
    assert check(item, value) == expected


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (errors.VALUE_TOO_SHORT, "value_too_short_error", "The value is too short."),
        (errors.VALUE_TOO_LONG, "value_too_long_error", "The value is too long."),
        (errors.VALUE_INVALID, "value_invalid_error", "The value is invalid."),
    ],
)
def test_input_error_codes_and_messages_are_hankos(error, code, message):
    assert (error.code, error.message, error.cause) == (code, message, None)


# --- rule order: the first failing rule wins ----------------------------------------------------


@pytest.mark.parametrize(
    ("item", "value", "expected"),
    [
        (fields.string("f", required=True, min_length=3), "", errors.VALUE_MISSING),
        (fields.email("f", required=True, min_length=3), "", errors.VALUE_MISSING),
        (fields.email("f", min_length=5), "a@b", errors.VALUE_TOO_SHORT),
        (fields.email("f", max_length=10), "x" * 30, errors.VALUE_TOO_LONG),
        (
            fields.string("f", min_length=2, allowed_values=allowed("ab")),
            "c",
            errors.VALUE_TOO_SHORT,
        ),
        (
            fields.string("f", max_length=1, allowed_values=allowed("a")),
            "abc",
            errors.VALUE_TOO_LONG,
        ),
        (fields.password("f", required=True, min_length=8), "short", errors.VALUE_TOO_SHORT),
    ],
)
def test_first_failing_rule_wins(item, value, expected):
    assert check(item, value) == expected


# --- rule 6: email format -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "user@example.com",
        "first.last+tag@sub.example.co",
        "a_b%c-d@x-y.io",
        "UPPER@EXAMPLE.ORG",
        "1@2.de",
    ],
)
@pytest.mark.parametrize("required", [True, False])
def test_well_formed_email_is_valid(value, required):
    assert check(fields.email("email", required=required), value) is None


@pytest.mark.parametrize(
    "value",
    [
        "user",
        "user@example",
        "user@example.c",
        "user@.com",
        "@example.com",
        "user@@example.com",
        "us er@example.com",
        "user@exämple.com",
        "üser@example.com",
        "user@example.com ",
        " user@example.com",
        "user@example.com\n",  # Go's $ does not match before a trailing newline
        "\nuser@example.com",
        "user@example.com\nBcc: victim@example.com",
    ],
)
@pytest.mark.parametrize("required", [True, False])
def test_malformed_email_is_invalid(value, required):
    assert check(fields.email("email", required=required), value) == errors.VALUE_INVALID


def test_email_format_is_only_checked_for_email_inputs():
    assert check(fields.string("name"), "not an email") is None
    assert check(fields.password("pw"), "not an email") is None


# --- rule 7: allowed values ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "b"])
def test_allowed_value_is_accepted(value):
    assert check(fields.string("choice", allowed_values=allowed("a", "b")), value) is None


@pytest.mark.parametrize("value", ["c", "A", "a ", "", None, 1, True])
def test_value_outside_the_allowed_ones_lists_them_in_the_message(value):
    error = check(fields.string("choice", allowed_values=allowed("a", "b")), value)
    assert error.code == "value_invalid_error"
    assert error.message == "The value is invalid. Must be one of: a,b"
    assert error.cause is None


def test_allowed_values_are_not_checked_when_the_key_is_absent():
    assert check(fields.string("choice", allowed_values=allowed("a", "b"))) is None


def test_required_input_with_allowed_values_reports_missing_first():
    item = fields.string("choice", required=True, allowed_values=allowed("a", "b"))
    assert check(item) == errors.VALUE_MISSING
    assert check(item, "") == errors.VALUE_MISSING


def test_allowed_values_are_compared_as_text():
    item = fields.string("n", allowed_values=allowed(1, 2, 3))
    assert check(item, "2") is None
    assert check(item, "4").message == "The value is invalid. Must be one of: 1,2,3"


@pytest.mark.parametrize("factory", [fields.email, fields.password])
def test_allowed_values_only_apply_to_string_inputs(factory):
    item = factory("field", allowed_values=allowed("x@example.com"))
    assert check(item, "other@example.com") is None


def test_value_not_allowed_helper_matches_value_invalid_code():
    error = errors.value_not_allowed(["x", "y", "z"])
    assert error.code == errors.VALUE_INVALID.code
    assert error.message == "The value is invalid. Must be one of: x,y,z"


# --- number inputs (declared but unused by Hanko) -----------------------------------------------


@pytest.mark.parametrize("value", [0, 5, -3, 2.5, "5", "-1.5", "1e3", "0"])
def test_numbers_and_numeric_strings_are_valid_numbers(value):
    assert check(fields.number("n", required=True), value) is None


@pytest.mark.parametrize("value", [True, False, {}, {"n": 1}, [], [1], "abc", "5a"])
def test_booleans_objects_and_text_are_invalid_numbers(value):
    assert check(fields.number("n"), value) == errors.VALUE_INVALID


@pytest.mark.parametrize("value", [MISSING, None, ""])
def test_empty_number_is_missing_only_when_required(value):
    assert check(fields.number("n", required=True), value) == errors.VALUE_MISSING
    assert check(fields.number("n"), value) is None


# --- normalisation (§2.5.2) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "raw", "expected"),
    [
        ({"trim_space": True}, "  Bob \t\n", "Bob"),
        ({"lower_case": True}, " BoB ", " bob "),
        ({"trim_space": True, "lower_case": True}, "  Alice@Example.COM ", "alice@example.com"),
        ({"trim_space": True, "lower_case": True}, "ÄÖÜ", "äöü"),
        ({"trim_space": True}, 42, "42"),
        ({"trim_space": True}, 1.5, "1.5"),
        ({"lower_case": True}, 7, "7"),
        ({"trim_space": True}, True, "true"),
        ({"trim_space": True}, False, "false"),
        ({"trim_space": True}, None, ""),
        ({"trim_space": True}, MISSING, ""),
        ({}, "  Bob ", "  Bob "),
        ({}, 42, 42),
    ],
)
def test_normalisation_trims_lowercases_and_turns_values_into_text(flags, raw, expected):
    item = fields.string("field", **flags)
    item.bind({} if raw is MISSING else {"field": raw})
    item.normalize()
    assert item.value == expected
    assert type(item.value) is type(expected)


@pytest.mark.parametrize(
    ("item", "value", "expected"),
    [
        (fields.string("f", required=True, trim_space=True), "   ", errors.VALUE_MISSING),
        (fields.string("f", trim_space=True, min_length=3), "  ab  ", errors.VALUE_TOO_SHORT),
        (fields.string("f", required=True, trim_space=True), 12345, None),  # now the text "12345"
        (fields.string("f", trim_space=True, max_length=3), 12345, errors.VALUE_TOO_LONG),
        (fields.string("f", required=True), 12345, errors.VALUE_MISSING),  # not normalised
        (fields.string("f", lower_case=True, allowed_values=allowed("a")), "A", None),
        (fields.email("f", required=True, trim_space=True), " a@example.com\n", None),
        (fields.string("f", trim_space=True, allowed_values=allowed("a")), MISSING, "not-allowed"),
    ],
)
def test_normalisation_happens_before_validation(item, value, expected):
    error = check(item, value)
    if expected == "not-allowed":  # a normalised absent key is present (and empty)
        assert error.message == "The value is invalid. Must be one of: a"
    else:
        assert error == expected


# --- all inputs are validated -------------------------------------------------------------------


def _context(inputs: list[Input], input_data: dict[str, Any]) -> FlowContext:
    definition = Flow("inputs").state("s", Go).initial_states("s").build()
    declared = {item.name: item for item in inputs}
    for item in declared.values():
        item.bind(input_data)
    return FlowContext(
        definition, "id", Stash(state="s"), None, inputs=declared, input_data=input_data
    )


def test_every_input_is_validated_without_short_circuit():
    ctx = _context(
        [
            fields.string("missing", required=True),
            fields.email("email"),
            fields.string("name", trim_space=True, lower_case=True, required=True),
            fields.string("short", min_length=5),
            fields.boolean("flag", required=True),
        ],
        {"email": "nope", "name": "  NAME ", "short": "abc"},
    )
    assert ctx.validate_inputs() is False
    assert {name: item.error for name, item in ctx.inputs.items()} == {
        "missing": errors.VALUE_MISSING,
        "email": errors.VALUE_INVALID,
        "name": None,
        "short": errors.VALUE_TOO_SHORT,
        "flag": None,
    }
    assert ctx.input("name") == "name"  # normalised although earlier inputs failed


def test_validation_succeeds_when_every_input_is_valid():
    ctx = _context(
        [fields.email("email", required=True), fields.string("name", trim_space=True)],
        {"email": "a@example.com", "name": " x "},
    )
    assert ctx.validate_inputs() is True
    assert [item.error for item in ctx.inputs.values()] == [None, None]


def test_revalidation_clears_an_earlier_error():
    item = fields.string("f", required=True)
    item.error = errors.VALUE_TOO_LONG
    assert check(item, "ok") is None


def test_context_reads_normalised_declared_and_raw_undeclared_values():
    ctx = _context(
        [fields.string("name", trim_space=True), fields.string("absent")],
        {"name": " Bob ", "identity_id": "abc"},
    )
    ctx.validate_inputs()
    assert ctx.input("name") == "Bob"
    assert ctx.input("absent") is None
    assert ctx.input("absent", "fallback") == "fallback"
    assert ctx.input("identity_id") == "abc"  # actions may read undeclared keys (§1.3)
    assert ctx.input("unknown", 7) == 7


def test_input_error_marks_the_input_and_fails_with_form_data_invalid():
    ctx = _context([fields.string("username")], {"username": "taken"})
    outcome = ctx.input_error("username", errors.USERNAME_ALREADY_EXISTS)
    assert outcome == Fail(errors.FORM_DATA_INVALID)
    assert ctx.inputs["username"].error == errors.USERNAME_ALREADY_EXISTS
    assert ctx.input_error("undeclared", errors.VALUE_INVALID) == Fail(errors.FORM_DATA_INVALID)


# --- inherit (rendering the executed action, §2.4 / §2.5.4) -------------------------------------


@pytest.mark.parametrize("preserve", [True, False])
def test_inherit_copies_the_error_and_only_a_preserved_value(preserve):
    executed = fields.string("username", preserve=preserve, trim_space=True, min_length=5)
    check(executed, "  abc ")
    fresh = fields.string("username", preserve=preserve)
    fresh.inherit(executed)
    assert fresh.error == errors.VALUE_TOO_SHORT
    if preserve:
        assert fresh.value == "abc"
    else:
        assert fresh.value is MISSING


def test_inherit_from_a_valid_input_leaves_no_error():
    executed = fields.string("username", preserve=True)
    check(executed, "alice")
    fresh = fields.string("username", preserve=True)
    fresh.inherit(executed)
    assert (fresh.error, fresh.value) == (None, "alice")


# --- declaration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "kind"),
    [
        (fields.string, "string"),
        (fields.email, "email"),
        (fields.password, "password"),
        (fields.number, "number"),
        (fields.boolean, "boolean"),
        (fields.json, "json"),
    ],
)
def test_constructors_declare_their_type_and_start_unbound(factory, kind):
    item = factory("x")
    assert item.type == kind
    assert item.value is MISSING
    assert item.error is None
    assert (item.required, item.hidden, item.min_length, item.max_length) == (None,) * 4


def test_unknown_input_type_is_rejected():
    with pytest.raises(ValueError, match="unknown input type"):
        Input("x", "date")


def test_bind_distinguishes_an_absent_key_from_null():
    item = fields.string("x")
    item.bind({})
    assert item.value is MISSING
    item.bind({"x": None})
    assert item.value is None
