"""Option lists: the values a field may take, each a stable slug and a label.

A lead's source, an account's industry, a case's status: the API speaks the slug
(``cold_call``, ``in_progress``), the pages show the label ("Cold call"). A plugin
declares each list once (``OptionList``) and every field holding one of its values is a
``Choice(THE_LIST)`` in the schemas; that one field validates the input, accepts the old
display values, documents the slugs in OpenAPI and gives the forms their options.

Two kinds of lists:

* editable ones (sources, industries, lost reasons...) live in ``core_option``, seeded by
  the declaring plugin's migration; an admin adds options, renames their labels,
  reorders and deactivates them (Settings -> Option lists, ``/api/v1/admin/options``).
  A slug never changes once created. A deactivated option is no longer offered: the
  API refuses it as a new value, but a record that holds it keeps it when saved.
* fixed ones (a record's state) are the declaration's own options, in code.

Input may still give the old display value ("Cold call", any case): it is read as its
slug. That is deprecated and documented in ``docs/api.md``.
"""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable

import marshmallow as ma
import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow
from core.errors import NotFound, RuleViolation, ValidationFailed

SLUG = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
SLUG_MAX, LABEL_MAX = 40, 80


class StoredOption(db.Model):
    """One option of an editable list, as the admin left it."""

    __tablename__ = "core_option"
    __table_args__ = (sa.UniqueConstraint("list_key", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_key: Mapped[str] = mapped_column(sa.String(80), index=True)
    slug: Mapped[str] = mapped_column(sa.String(SLUG_MAX))
    label: Mapped[str] = mapped_column(sa.String(LABEL_MAX))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Option:
    """An option as fields and pages read it."""

    slug: str
    label: str
    active: bool = True
    position: int = 0


#: Every declared list by key, so the Settings page and the API find them.
LISTS: dict[str, OptionList] = {}


class OptionList:
    """A list of options, declared once by the plugin whose records hold its values.

    ``key`` is ``<plugin prefix>.<name>`` (``crm.source``); ``seeds`` are its first
    options as (slug, label): what the plugin's migration seeds for an editable list,
    the options themselves for a fixed one, and what the OpenAPI document lists when it
    cannot read the database. The seeds' labels are the display values the API took
    before slugs; they stay accepted on input.
    """

    def __init__(self, key: str, label: str, seeds: tuple[tuple[str, str], ...], editable: bool = True):
        bad = [slug for slug, _ in seeds if not SLUG.match(slug)]
        if bad or "." not in key:
            raise ValueError(f"option list {key!r}: slugs are lower-case words joined by '_' ({bad})")
        self.key, self.label, self.seeds, self.editable = key, label, tuple(seeds), editable
        LISTS[key] = self

    def __repr__(self) -> str:
        return f"OptionList({self.key!r})"

    @property
    def plugin(self) -> str:
        """The prefix of the plugin the list belongs to (``crm``)."""
        return self.key.split(".", 1)[0]

    @property
    def seeded_slugs(self) -> list[str]:
        return [slug for slug, _ in self.seeds]

    def options(self) -> tuple[Option, ...]:
        """Every option, active or not, in the admin's order."""
        if not self.editable:
            return tuple(Option(slug, label, True, i) for i, (slug, label) in enumerate(self.seeds))
        return _stored().get(self.key, ())

    def offered(self) -> list[tuple[str, str]]:
        """(slug, label) of the active options: what a form or a new record may choose."""
        return [(o.slug, o.label) for o in self.options() if o.active]

    def slugs(self) -> list[str]:
        """Every slug, the inactive ones included (what a stored value may be)."""
        return [o.slug for o in self.options()]

    def get(self, slug: str | None) -> Option | None:
        return next((o for o in self.options() if o.slug == slug), None)

    def label_of(self, slug: str | None) -> str | None:
        """The label a page shows for a stored value (the value itself if unknown)."""
        if slug in (None, ""):
            return slug
        found = self.get(slug)
        return found.label if found else slug

    def find(self, value: str) -> Option | None:
        """The option ``value`` names: its slug, or, in any case, its label or the display
        value it had before slugs (the seed's label)."""
        text = " ".join(str(value).split())
        exact = self.get(text)
        if exact:
            return exact
        folded = text.casefold()
        legacy = {label.casefold(): slug for slug, label in self.seeds}
        for option in self.options():
            if folded in (option.slug, option.label.casefold()) or legacy.get(folded) == option.slug:
                return option
        return None

    def clean(self, value, held: str | None = None, offered_only: bool = True) -> str:
        """The slug of an input value; ``ValueError`` naming the allowed slugs otherwise.

        An inactive option is refused unless it is ``held`` (the value the record already
        has) or ``offered_only`` is false (a filter may look for it).
        """
        option = self.find(value) if isinstance(value, str) and value.strip() else None
        allowed = ", ".join(slug for slug, _ in self.offered())
        if option is None:
            raise ValueError(f"Choose one of: {allowed}.")
        if not option.active and offered_only and option.slug != held:
            raise ValueError(f"“{option.label}” ({option.slug}) is no longer offered; choose one of: {allowed}.")
        return option.slug

    def held_label(self, slug: str) -> str | None:
        """A form's label for a value it holds but no longer offers: "Partner (inactive)"."""
        found = self.get(slug)
        return f"{found.label} (inactive)" if found else None


def _stored() -> dict[str, tuple[Option, ...]]:
    """Every editable list's options, read in one statement once per request (a page
    showing sources and industries reads them together); changing one forgets them."""
    cache = g.get("tandem_options") if has_app_context() else None
    if cache is None:
        cache = {}
        for key, *option in db.session.execute(
                sa.select(StoredOption.list_key, StoredOption.slug, StoredOption.label, StoredOption.active,
                          StoredOption.position).order_by(StoredOption.list_key, StoredOption.position,
                                                          StoredOption.id)):
            cache.setdefault(key, []).append(Option(*option))
        cache = {key: tuple(found) for key, found in cache.items()}
        if has_app_context():
            g.tandem_options = cache
    return cache


# --- the field every schema uses ---

#: What is being edited while a schema loads (a getter of the record), so that a value it
#: already holds stays valid once its option is deactivated. See ``editing``.
_editing: ContextVar[Callable[[], Any] | None] = ContextVar("tandem_options_editing", default=None)


@contextmanager
def editing(record_getter: Callable[[], Any]):
    """Load a schema for changing the record ``record_getter()`` returns (called only when
    an inactive option is sent): an option it already holds is accepted."""
    token = _editing.set(record_getter)
    try:
        yield
    finally:
        _editing.reset(token)


class Choice(ma.fields.String):
    """A value of an option list: loads a slug (or an old display value, read as its slug)
    of the live list, refusing anything else with the allowed slugs; dumps the slug.

    ``offered_only=False`` (list filters) accepts inactive options too.
    """

    def __init__(self, option_list: OptionList, offered_only: bool = True, **kwargs):
        metadata = kwargs.pop("metadata", {})
        metadata.setdefault("description", f"A slug of the option list {option_list.key} "
                                           f"(GET /api/v1/admin/options/{option_list.key})")
        super().__init__(metadata=metadata, **kwargs)
        self.option_list, self.offered_only = option_list, offered_only

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self.option_list.clean(text, self._held(), self.offered_only)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None

    def _held(self) -> str | None:
        getter = _editing.get()
        record = getter() if getter is not None else None
        return getattr(record, self.attribute or self.name, None) if record is not None else None


def option_list_of(field) -> OptionList | None:
    """The option list a schema field holds values of, if it is a ``Choice``."""
    return field.option_list if isinstance(field, Choice) else None


def openapi_enum(converter, field, **kwargs) -> dict:
    """OpenAPI attributes of a ``Choice``: the seeded slugs as its enum (replaced by the live
    slugs when the document is served, see ``document_live``) and the list's key."""
    if not isinstance(field, Choice):
        return {}
    enum = list(field.option_list.seeded_slugs) + ([None] if field.allow_none else [])
    return {"type": "string", "enum": enum, "x-option-list": field.option_list.key}


def document_live(node) -> None:
    """Replace the enum of every ``x-option-list`` property of an OpenAPI document by the
    live list: every slug an admin left, the inactive ones too (records may hold them)."""
    if isinstance(node, dict):
        key = node.get("x-option-list")
        if key in LISTS and isinstance(node.get("enum"), list):
            nullable = None in node["enum"]
            node["enum"] = LISTS[key].slugs() + ([None] if nullable else [])
        for value in node.values():
            document_live(value)
    elif isinstance(node, list):
        for item in node:
            document_live(item)


# --- what an admin does with a list ---


def _forget() -> None:
    if has_app_context():
        g.pop("tandem_options", None)


def installed_lists() -> list[OptionList]:
    """The lists of the installed plugins, by key."""
    from core.registry import current_registry

    installed = current_registry().installed_prefixes
    return sorted((lst for lst in LISTS.values() if lst.plugin in installed), key=lambda lst: lst.key)


def get_list(key: str) -> OptionList:
    """An installed plugin's list, or ``NotFound``."""
    found = next((lst for lst in installed_lists() if lst.key == key), None)
    if found is None:
        raise NotFound(f"no option list {key!r}")
    return found


def _editable(lst: OptionList) -> None:
    if not lst.editable:
        raise RuleViolation(f"the options of {lst.key} are fixed", code="option_list_fixed")


def _rows(lst: OptionList) -> list[StoredOption]:
    return list(db.session.scalars(sa.select(StoredOption).where(StoredOption.list_key == lst.key)
                                   .order_by(StoredOption.position, StoredOption.id)))


def slug_for(label: str) -> str:
    """The slug a new option gets from its label: "Trade fair 2027" -> ``trade_fair_2027``."""
    return "_".join(re.findall(r"[a-z0-9]+", label.casefold()))[:SLUG_MAX].strip("_")


def _clean_label(label) -> str:
    label = " ".join(str(label or "").split())
    if not label:
        raise ValidationFailed({"label": ["Enter a label."]})
    if len(label) > LABEL_MAX:
        raise ValidationFailed({"label": [f"Use at most {LABEL_MAX} characters."]})
    return label


def add_option(lst: OptionList, label: str, slug: str | None = None) -> StoredOption:
    """Add an option at the end of an editable list; its slug (from the label unless
    given) is fixed from now on."""
    _editable(lst)
    label = _clean_label(label)
    slug = (slug or "").strip() or slug_for(label)
    if not SLUG.match(slug) or len(slug) > SLUG_MAX:
        raise ValidationFailed({"slug": [f"Use lower-case letters and digits joined by '_' "
                                         f"(at most {SLUG_MAX} characters)."]})
    rows = _rows(lst)
    if any(r.slug == slug for r in rows):
        raise ValidationFailed({"slug": [f"{lst.key} already has the option {slug}."]})
    if any(r.label.casefold() == label.casefold() for r in rows):
        raise ValidationFailed({"label": [f"{lst.key} already has an option labelled “{label}”."]})
    row = StoredOption(list_key=lst.key, slug=slug, label=label,
                       position=max((r.position for r in rows), default=-1) + 1)
    db.session.add(row)
    db.session.flush()
    _forget()
    return row


def change_option(lst: OptionList, slug: str, label: str | None = None, active: bool | None = None,
                  position: int | None = None) -> StoredOption:
    """Rename an option's label, (de)activate it or move it to ``position`` (0 = first).
    The slug, and so every record holding it, never changes."""
    _editable(lst)
    rows = _rows(lst)
    row = next((r for r in rows if r.slug == slug), None)
    if row is None:
        raise NotFound(f"{lst.key} has no option {slug!r}")
    if label is not None:
        label = _clean_label(label)
        if any(r.label.casefold() == label.casefold() for r in rows if r is not row):
            raise ValidationFailed({"label": [f"{lst.key} already has an option labelled “{label}”."]})
        row.label = label
    if active is not None:
        if not active and not any(r.active for r in rows if r is not row):
            raise ValidationFailed({"active": ["Keep at least one option active."]})
        row.active = active
    if position is not None:
        rows.remove(row)
        rows.insert(max(0, min(position, len(rows))), row)
        for index, r in enumerate(rows):
            r.position = index
    db.session.flush()
    _forget()
    return row
