"""Categorization: the category tree and the rules that suggest a category for an incident.

A :class:`CategoryTree` is the set of known :class:`~itil_incident.domain.values.CategoryPath`
values (every ancestor of a known path is known). A :class:`Categorizer` holds ordered
:class:`CategorizationRule` values; the first rule whose conditions all hold gives the category,
and :meth:`Categorizer.explain` says why each rule did or did not match. Rules compile their
regular expressions once, when built.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from itil_incident.domain.values import CategoryPath, Channel
from itil_incident.errors import DefinitionError, ValidationError

__all__ = ["CategorizationRule", "CategoryMatch", "CategoryTree", "Categorizer"]


class CategoryTree:
    """The known categories. Giving ``Network/VPN`` makes ``Network`` known too.

    An empty tree, or a malformed path, raises :class:`~itil_incident.errors.DefinitionError`.
    """

    __slots__ = ("_by_folded", "_children", "_known", "_paths")

    def __init__(self, paths: Iterable[CategoryPath | str]) -> None:
        if isinstance(paths, (str, CategoryPath)) or not isinstance(paths, Iterable):
            raise DefinitionError(
                f"a category tree needs an iterable of paths, got {paths!r}", culprit="paths"
            )
        known: set[CategoryPath] = set()
        for raw in paths:
            try:
                path: CategoryPath | None = CategoryPath.of(raw)
            except ValidationError as exc:
                raise DefinitionError(
                    f"invalid category {raw!r}: {exc}", culprit=repr(raw)
                ) from None
            while path is not None and path not in known:
                known.add(path)
                path = path.parent
        if not known:
            raise DefinitionError("a category tree needs at least one category", culprit="paths")
        self._known = frozenset(known)
        self._paths = tuple(sorted(known))
        children: dict[CategoryPath | None, list[CategoryPath]] = {}
        for path in self._paths:
            children.setdefault(path.parent, []).append(path)
        self._children = {parent: tuple(kids) for parent, kids in children.items()}
        folded: dict[str, list[CategoryPath]] = {}
        for path in self._paths:
            folded.setdefault(str(path).casefold(), []).append(path)
        self._by_folded = folded

    @property
    def paths(self) -> tuple[CategoryPath, ...]:
        """Every known path, sorted (a parent comes just before its children)."""
        return self._paths

    def __contains__(self, path: object) -> bool:
        """Whether ``path`` (a path or its text) is exactly a known category."""
        if isinstance(path, str):
            try:
                path = CategoryPath.parse(path)
            except ValidationError:
                return False
        return path in self._known

    def __iter__(self) -> Iterator[CategoryPath]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def validate(self, path: CategoryPath | str) -> CategoryPath:
        """The known path for ``path``; else :class:`~itil_incident.errors.ValidationError`.

        A path that differs from a known one only by letter case is accepted and returned in the
        tree's spelling. An unknown path's error names the closest known path when one is close.
        """
        candidate = CategoryPath.of(path)
        if candidate in self._known:
            return candidate
        same_but_case = self._by_folded.get(str(candidate).casefold(), [])
        if len(same_but_case) == 1:
            return same_but_case[0]
        message = f"unknown category {str(candidate)!r}"
        close = difflib.get_close_matches(
            str(candidate).casefold(), list(self._by_folded), n=1, cutoff=0.6
        )
        if close:
            message += f"; did you mean {str(self._by_folded[close[0]][0])!r}?"
        raise ValidationError(message, field="category")

    def children(self, parent: CategoryPath | None = None) -> tuple[CategoryPath, ...]:
        """The direct sub-categories of ``parent``, or the top-level categories."""
        if parent is not None and parent not in self._known:
            raise ValidationError(f"unknown category {str(parent)!r}", field="category")
        return self._children.get(parent, ())

    def to_dict(self) -> dict[str, Any]:
        """Nested plain data, ``{"Network": {"VPN": {}}}``, that :meth:`from_dict` reads back."""

        def below(parent: CategoryPath | None) -> dict[str, Any]:
            return {child.name: below(child) for child in self._children.get(parent, ())}

        return below(None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoryTree:
        """A tree from nested plain data.

        Each key is a category; its value is a mapping of sub-categories (``{}`` for none) or a
        list whose items are sub-category names or mappings of them:
        ``{"Network": {"VPN": {}, "LAN": {}}, "Software": ["Email", "ERP"], "Other": {}}``.
        Malformed data raises :class:`~itil_incident.errors.DefinitionError` naming the key path.
        """
        if not isinstance(data, Mapping):
            raise DefinitionError(
                f"a category tree must be a mapping of category names, got {data!r}",
                culprit="categories",
            )
        paths: list[CategoryPath] = []
        _collect(data, None, "", paths)
        if not paths:
            raise DefinitionError(
                "a category tree needs at least one category", culprit="categories"
            )
        return cls(paths)

    @classmethod
    def default(cls) -> CategoryTree:
        """An ITIL-style tree: Hardware, Software, Network, Security, Access, Database, Inquiry."""
        return _default_tree()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoryTree):
            return NotImplemented
        return self._known == other._known

    def __hash__(self) -> int:
        return hash(self._known)

    def __repr__(self) -> str:
        return f"CategoryTree({len(self._paths)} categories)"


def _collect(
    node: object, parent: CategoryPath | None, where: str, out: list[CategoryPath]
) -> None:
    def add(name: object, at: str) -> CategoryPath:
        if not isinstance(name, str):
            raise DefinitionError(f"{at}: expected a category name, got {name!r}", culprit=at)
        try:
            path = parent.child(name) if parent is not None else CategoryPath((name,))
        except ValidationError as exc:
            raise DefinitionError(f"{at}: {exc}", culprit=at) from None
        if path in out:
            raise DefinitionError(f"{at}: category {str(path)!r} is given twice", culprit=at)
        out.append(path)
        return path

    prefix = f"{where}/" if where else ""
    if isinstance(node, Mapping):
        for name, sub in node.items():
            at = f"{prefix}{name}"
            _collect(sub, add(name, at), at, out)
    elif isinstance(node, Sequence) and not isinstance(node, (str, bytes)):
        for index, item in enumerate(node):
            at = f"{where}[{index}]"
            if isinstance(item, Mapping):
                _collect(item, parent, at, out)
            else:
                add(item, at)
    elif node is not None:
        raise DefinitionError(
            f"{where}: expected a mapping or a list of sub-categories, got {node!r}", culprit=where
        )


@functools.cache
def _default_tree() -> CategoryTree:
    return CategoryTree.from_dict(
        {
            "Hardware": ["Desktop", "Laptop", "Printer", "Server", "Storage"],
            "Software": ["Email", "Operating System", "Business Application", "Office Suite"],
            "Network": ["VPN", "LAN", "WAN", "Wi-Fi", "DNS"],
            "Security": ["Malware", "Phishing", "Unauthorized Access"],
            "Access": ["Password Reset", "Account Lockout", "Permissions"],
            "Database": ["Performance", "Availability"],
            "Inquiry": ["Help"],
        }
    )


# -- rules ---------------------------------------------------------------------------------------


def _rule_category(value: object) -> CategoryPath:
    try:
        if not isinstance(value, (CategoryPath, str)):
            raise ValidationError(f"expected a CategoryPath or text, got {value!r}")
        return CategoryPath.of(value)
    except ValidationError as exc:
        raise DefinitionError(
            f"invalid rule category {value!r}: {exc}", culprit="category"
        ) from None


def _keywords(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise DefinitionError(
            f"keywords must be a sequence of strings, got {value!r}", culprit="keywords"
        )
    words = tuple(value)
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise DefinitionError(
                f"each keyword must be a non-empty string, got {word!r}", culprit="keywords"
            )
    return words


def _channel(value: object) -> Channel | None:
    if value is None or isinstance(value, Channel):
        return value
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Channel(value)
    except ValueError:
        known = ", ".join(channel.value for channel in Channel)
        raise DefinitionError(
            f"unknown channel {value!r} (known: {known})", culprit="channel"
        ) from None


def _optional_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise DefinitionError(
            f"{attribute.name} must be a non-empty string or None, got {value!r}",
            culprit=attribute.name,
        )


def _name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"a rule needs a non-empty name, got {value!r}", culprit="name")


def _phrase(keyword: str) -> str:
    """A keyword or phrase as a regex; any run of spaces in it matches any run of whitespace."""
    return r"\s+".join(re.escape(word) for word in keyword.split())


def _whole(alternatives: str) -> str:
    # Lookarounds rather than \b so that keywords that start or end with punctuation
    # ("c++", ".net") still need a non-word character (or the text's edge) on each side.
    return rf"(?<!\w)(?:{alternatives})(?!\w)"


@attrs.frozen
class CategorizationRule:
    """Suggests ``category`` when every condition given holds.

    - ``keywords``: one of them appears as a whole word or phrase, in any letter case, in the
      title or the description (``"vpn"`` matches "VPN down" but not "vpnclient");
    - ``pattern``: a regular expression found (case-insensitive) in ``title + "\\n" + description``;
    - ``service``: the incident's service is exactly this one;
    - ``configuration_item``: this configuration item is among the incident's;
    - ``channel``: the incident came through this channel.

    A rule without any condition, or with an invalid ``pattern``, raises
    :class:`~itil_incident.errors.DefinitionError` naming the rule.
    """

    name: str = attrs.field(validator=_name)
    category: CategoryPath = attrs.field(converter=_rule_category)
    keywords: tuple[str, ...] = attrs.field(default=(), converter=_keywords)
    pattern: str | None = attrs.field(default=None, validator=_optional_text)
    service: str | None = attrs.field(default=None, validator=_optional_text)
    configuration_item: str | None = attrs.field(default=None, validator=_optional_text)
    channel: Channel | None = attrs.field(default=None, converter=_channel)
    _keyword_re: re.Pattern[str] | None = attrs.field(
        init=False, default=None, eq=False, repr=False
    )
    _pattern_re: re.Pattern[str] | None = attrs.field(
        init=False, default=None, eq=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        conditions = (self.keywords, self.pattern, self.service, self.configuration_item)
        if not any(conditions) and self.channel is None:
            raise DefinitionError(
                f"rule {self.name!r} has no condition: give keywords, a pattern, a service, "
                "a configuration item or a channel",
                culprit=self.name,
            )
        if self.keywords:
            # Longest first, so that a phrase wins over a word it starts with.
            ordered = sorted(self.keywords, key=len, reverse=True)
            combined = _whole("|".join(_phrase(word) for word in ordered))
            object.__setattr__(self, "_keyword_re", re.compile(combined, re.IGNORECASE))
        if self.pattern is not None:
            try:
                compiled = re.compile(self.pattern, re.IGNORECASE)
            except re.error as exc:
                raise DefinitionError(
                    f"rule {self.name!r}: invalid pattern {self.pattern!r}: {exc}",
                    culprit=self.name,
                ) from None
            object.__setattr__(self, "_pattern_re", compiled)

    def matches(
        self,
        title: str,
        description: str,
        service: str | None,
        configuration_items: Sequence[str],
        channel: Channel | None,
    ) -> bool:
        """Whether every condition of the rule holds (cheap conditions are checked first)."""
        if self.channel is not None and channel != self.channel:
            return False
        if self.service is not None and service != self.service:
            return False
        if self.configuration_item is not None and (
            self.configuration_item not in configuration_items
        ):
            return False
        keyword_re = self._keyword_re
        if keyword_re is not None and not (
            keyword_re.search(title) or keyword_re.search(description)
        ):
            return False
        pattern_re = self._pattern_re
        return pattern_re is None or pattern_re.search(f"{title}\n{description}") is not None

    def explain(
        self,
        title: str,
        description: str,
        service: str | None,
        configuration_items: Sequence[str],
        channel: Channel | None,
    ) -> tuple[bool, str]:
        """Whether the rule matches, and why: every condition met, or the first one that is not."""
        met: list[str] = []
        if self.channel is not None:
            if channel != self.channel:
                return False, f"channel is {_show(channel)}, not {self.channel.value!r}"
            met.append(f"channel is {self.channel.value!r}")
        if self.service is not None:
            if service != self.service:
                return False, f"service is {_show(service)}, not {self.service!r}"
            met.append(f"service is {self.service!r}")
        if self.configuration_item is not None:
            if self.configuration_item not in configuration_items:
                return False, f"configuration item {self.configuration_item!r} not among the CIs"
            met.append(f"configuration item {self.configuration_item!r} is among the CIs")
        if self.keywords:
            found = self._first_keyword(title, description)
            if found is None:
                listed = ", ".join(repr(word) for word in self.keywords)
                return False, f"no keyword found (looked for {listed})"
            met.append(f"keyword {found[0]!r} found in {found[1]}")
        if self._pattern_re is not None:
            if self._pattern_re.search(f"{title}\n{description}") is None:
                return False, f"pattern {self.pattern!r} not found"
            met.append(f"pattern {self.pattern!r} found")
        return True, "; ".join(met)

    def _first_keyword(self, title: str, description: str) -> tuple[str, str] | None:
        for where, text in (("title", title), ("description", description)):
            for word in self.keywords:
                if re.search(_whole(_phrase(word)), text, re.IGNORECASE):
                    return word, where
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (no ``None`` values: TOML friendly) for :meth:`Categorizer.from_dict`."""
        data: dict[str, Any] = {"name": self.name, "category": str(self.category)}
        if self.keywords:
            data["keywords"] = list(self.keywords)
        for key in ("pattern", "service", "configuration_item"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.channel is not None:
            data["channel"] = self.channel.value
        return data


def _show(value: str | None) -> str:
    return "not given" if value is None else repr(str(value))


@attrs.frozen
class CategoryMatch:
    """The category a :class:`Categorizer` suggests, and the name of the rule that gave it."""

    category: CategoryPath
    rule: str


_RULE_KEYS = frozenset(
    {"name", "category", "keywords", "pattern", "service", "configuration_item", "channel"}
)


class Categorizer:
    """Ordered categorization rules: the first rule that matches gives the category.

    With a ``tree``, every rule's category must be in it. Duplicate rule names raise
    :class:`~itil_incident.errors.DefinitionError`.
    """

    __slots__ = ("_rules", "_tree")

    def __init__(
        self, rules: Sequence[CategorizationRule], *, tree: CategoryTree | None = None
    ) -> None:
        if isinstance(rules, (str, bytes)) or not isinstance(rules, Iterable):
            raise DefinitionError(f"rules must be a sequence, got {rules!r}", culprit="rules")
        seen: set[str] = set()
        for rule in rules:
            if not isinstance(rule, CategorizationRule):
                raise DefinitionError(
                    f"expected a CategorizationRule, got {rule!r}", culprit=repr(rule)
                )
            if rule.name in seen:
                raise DefinitionError(f"duplicate rule name {rule.name!r}", culprit=rule.name)
            seen.add(rule.name)
            if tree is not None and rule.category not in tree:
                raise DefinitionError(
                    f"rule {rule.name!r}: category {str(rule.category)!r} is not in the tree",
                    culprit=rule.name,
                )
        self._rules = tuple(rules)
        self._tree = tree

    @property
    def rules(self) -> tuple[CategorizationRule, ...]:
        return self._rules

    @property
    def tree(self) -> CategoryTree | None:
        return self._tree

    def categorize(
        self,
        *,
        title: str,
        description: str = "",
        service: str | None = None,
        configuration_items: Sequence[str] = (),
        channel: Channel | None = None,
    ) -> CategoryMatch | None:
        """The category of the first rule (in order) that matches, and that rule; else None."""
        _check_inputs(title, description, service, configuration_items, channel)
        for rule in self._rules:
            if rule.matches(title, description, service, configuration_items, channel):
                return CategoryMatch(rule.category, rule.name)
        return None

    def explain(
        self,
        *,
        title: str,
        description: str = "",
        service: str | None = None,
        configuration_items: Sequence[str] = (),
        channel: Channel | None = None,
    ) -> list[tuple[str, bool, str]]:
        """For each rule, in order: ``(name, matched, why)``.

        ``why`` lists the conditions met (``"keyword 'vpn' found in title"``), or names the first
        one that failed. :meth:`categorize` picks the first rule with ``matched`` true.
        """
        _check_inputs(title, description, service, configuration_items, channel)
        return [
            (rule.name, *rule.explain(title, description, service, configuration_items, channel))
            for rule in self._rules
        ]

    def to_dict(self) -> list[dict[str, Any]]:
        """The rules as plain data, in order; :meth:`from_dict` reads it back."""
        return [rule.to_dict() for rule in self._rules]

    @classmethod
    def from_dict(
        cls, data: Sequence[Mapping[str, Any]], *, tree: CategoryTree | None = None
    ) -> Categorizer:
        """Rules from plain data: a list of ``{"name", "category", "keywords", "pattern",
        "service", "configuration_item", "channel"}`` mappings.

        Malformed data raises :class:`~itil_incident.errors.DefinitionError` naming the key path
        (``"rules[2].keywords: ..."``).
        """
        if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Sequence):
            raise DefinitionError(
                f"rules: expected a list of rule tables, got {data!r}", culprit="rules"
            )
        rules: list[CategorizationRule] = []
        for index, item in enumerate(data):
            where = f"rules[{index}]"
            if not isinstance(item, Mapping):
                raise DefinitionError(f"{where}: expected a table, got {item!r}", culprit=where)
            for key in item:
                if key not in _RULE_KEYS:
                    raise DefinitionError(
                        f"{where}.{key}: unknown key (known: {', '.join(sorted(_RULE_KEYS))})",
                        culprit=f"{where}.{key}",
                    )
            for key in ("name", "category"):
                if key not in item:
                    raise DefinitionError(f"{where}.{key}: missing", culprit=f"{where}.{key}")
            for key in ("name", "category", "pattern", "service", "configuration_item", "channel"):
                if key in item and not isinstance(item[key], str):
                    raise DefinitionError(
                        f"{where}.{key}: expected a string, got {item[key]!r}",
                        culprit=f"{where}.{key}",
                    )
            if "keywords" in item:
                words = item["keywords"]
                if (
                    isinstance(words, (str, bytes))
                    or not isinstance(words, Sequence)
                    or not all(isinstance(word, str) for word in words)
                ):
                    raise DefinitionError(
                        f"{where}.keywords: expected a list of strings, got {words!r}",
                        culprit=f"{where}.keywords",
                    )
            try:
                rules.append(CategorizationRule(**dict(item)))
            except DefinitionError as exc:
                field = exc.culprit if exc.culprit in _RULE_KEYS else None
                at = f"{where}.{field}" if field else where
                raise DefinitionError(f"{at}: {exc}", culprit=at) from None
        return cls(rules, tree=tree)

    @classmethod
    def default(cls) -> Categorizer:
        """Sensible rules for :meth:`CategoryTree.default` (security and access first)."""
        return _default_categorizer()

    def __repr__(self) -> str:
        return f"Categorizer({len(self._rules)} rules)"


def _check_inputs(
    title: object,
    description: object,
    service: object,
    configuration_items: object,
    channel: object,
) -> None:
    if not isinstance(title, str):
        raise ValidationError(f"title must be a string, got {title!r}", field="title")
    if not isinstance(description, str):
        raise ValidationError(
            f"description must be a string, got {description!r}", field="description"
        )
    if service is not None and not isinstance(service, str):
        raise ValidationError(f"service must be a string or None, got {service!r}", field="service")
    if isinstance(configuration_items, str) or not isinstance(
        configuration_items, (Sequence, set, frozenset)
    ):
        raise ValidationError(
            f"configuration_items must be a sequence of strings, got {configuration_items!r}",
            field="configuration_items",
        )
    if channel is not None and not isinstance(channel, Channel):
        raise ValidationError(
            f"channel must be a Channel or None, got {channel!r}", field="channel"
        )


def _rule(name: str, category: str, keywords: str) -> CategorizationRule:
    return CategorizationRule(name, category, keywords=[k.strip() for k in keywords.split(",")])


# fmt: off
@functools.cache
def _default_categorizer() -> Categorizer:
    # Order matters: the first match wins, so security and access come before the generic
    # words ("password" in a phishing report), and specific places before broad ones.
    rules = [
        _rule("phishing", "Security/Phishing", "phishing, phish, suspicious email, "
              "suspicious e-mail, suspicious link, spoofed, spoofing"),
        _rule("malware", "Security/Malware", "malware, virus, ransomware, trojan, spyware, "
              "infected"),
        _rule("unauthorized-access", "Security/Unauthorized Access", "unauthorized access, "
              "unauthorised access, hacked, compromised, intrusion, breach"),
        _rule("account-lockout", "Access/Account Lockout", "locked out, account locked, "
              "account is locked, lockout, locked account"),
        _rule("password-reset", "Access/Password Reset", "password, passwords, passphrase, "
              "mfa, 2fa"),
        _rule("permissions", "Access/Permissions", "permission, permissions, access denied, "
              "no access, need access, access rights"),
        _rule("vpn", "Network/VPN", "vpn, anyconnect, globalprotect, remote access"),
        _rule("wifi", "Network/Wi-Fi", "wifi, wi-fi, wireless, ssid, access point"),
        _rule("dns", "Network/DNS", "dns, name resolution, nslookup"),
        _rule("wan", "Network/WAN", "wan, mpls, site link, branch link"),
        _rule("lan", "Network/LAN", "lan, ethernet, network cable, switch port, no network, "
              "network is down, network down"),
        _rule("printer", "Hardware/Printer", "printer, printers, printing, print queue, toner, "
              "paper jam, scanner"),
        CategorizationRule(
            "disk-full",
            "Hardware/Storage",
            # "disk full", "drive C: is full", "no space left on device", "out of disk space"
            pattern=r"\b(disk|drive|volume|partition|storage)\b[^\n]{0,30}?\bfull\b"
            r"|\bno space left\b|\bout of (disk|storage) space\b|\bquota exceeded\b",
        ),
        _rule("storage", "Hardware/Storage", "san, nas, storage array, disk failure, raid"),
        _rule("database-availability", "Database/Availability", "database down, "
              "database unavailable, db down, cannot connect to database, "
              "can't connect to database, database connection"),
        _rule("database-performance", "Database/Performance", "slow query, database slow, "
              "database is slow, deadlock, query timeout"),
        _rule("email", "Software/Email", "email, e-mail, emails, outlook, mailbox, mail, "
              "exchange online, calendar"),
        _rule("office-suite", "Software/Office Suite", "excel, powerpoint, microsoft word, "
              "ms word, office 365, microsoft 365, onenote, libreoffice"),
        _rule("business-application", "Software/Business Application", "erp, sap, crm, "
              "salesforce, payroll, intranet"),
        _rule("operating-system", "Software/Operating System", "operating system, windows, "
              "macos, linux, blue screen, bsod, windows update"),
        _rule("server", "Hardware/Server", "server, servers, host down, hypervisor"),
        _rule("laptop", "Hardware/Laptop", "laptop, notebook, docking station"),
        _rule("desktop", "Hardware/Desktop", "desktop, pc, workstation, monitor, keyboard, mouse"),
        _rule("inquiry", "Inquiry/Help", "how do i, how to, question, where can i"),
    ]
    return Categorizer(rules, tree=CategoryTree.default())
# fmt: on
