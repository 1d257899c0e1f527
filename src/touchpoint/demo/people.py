"""The simulated people: customers with unique identities and traits, and the contact-center agents.

Faker is slow, so it fills small name pools once; people are then composed from the pools with a
seeded `random.Random`, which keeps a run of thousands of people fast and reproducible.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

from faker import Faker

from touchpoint.demo.catalog import HANDLE_NETWORKS, MARKETS, Market

# Reserved example domains (RFC 2606), so no generated address can belong to a real person.
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
US_AREA_CODES = tuple(
    (
        "212 213 217 303 305 312 404 415 503 512 602 612 617 646 702 704 713 718 720 737 "
        "801 813 832 858 904 919 925 949 206 214 267 310 347 401 410 480 615 678 971"
    ).split()
)
CA_AREA_CODES = ("416", "437", "514", "604", "613", "647", "778", "902")
INCOME_BANDS = ("<25k", "25-50k", "50-100k", "100-150k", "150k+")
INCOME_WEIGHTS = (12, 25, 35, 18, 10)
_ASCII = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "'": "", " ": ""})


@dataclass(slots=True)
class Pools:
    """Names, companies and occupations drawn once from Faker."""

    female: dict[str, list[str]]
    male: dict[str, list[str]]
    last: dict[str, list[str]]
    companies: list[str]
    jobs: list[str]
    agents: list[str]


def build_pools(seed: int, size: int = 150) -> Pools:
    locales = sorted({m.locale for m in MARKETS})
    fake = Faker(locales)
    fake.seed_instance(seed)
    female, male, last = {}, {}, {}
    for locale in locales:
        faker = fake[locale]
        female[locale] = [faker.first_name_female() for _ in range(size)]
        male[locale] = [faker.first_name_male() for _ in range(size)]
        last[locale] = [faker.last_name() for _ in range(size * 2)]
    us = fake["en_US"]
    companies = [us.company() for _ in range(size)]
    jobs = [us.job() for _ in range(size)]
    agents = [us.name() for _ in range(60)]
    return Pools(female, male, last, companies, jobs, agents)


@dataclass(frozen=True, slots=True)
class Agent:
    name: str
    queue: str
    skill: float  # 0..1: drives first-contact resolution, handle time and how callers feel

    @property
    def id(self) -> str:
        """The agent's id in the contact-center configuration and on every interaction they
        handle ("Abigail Johnson" -> abigail-johnson), so reports join the two."""
        return "-".join(self.name.lower().replace(".", "").split())[:40]


def build_agents(pools: Pools, rng: Random) -> dict[str, list[Agent]]:
    """Sales and support teams; a few support agents are still learning the job."""
    names = list(dict.fromkeys(pools.agents))
    teams: dict[str, list[Agent]] = {"sales": [], "support": [], "retention": []}
    for i, name in enumerate(names[:40]):
        queue = "sales" if i < 10 else "retention" if i < 14 else "support"
        skill = rng.uniform(0.15, 0.45) if i % 5 == 4 else rng.betavariate(6, 2)
        teams[queue].append(Agent(name, queue, round(skill, 2)))
    return teams


@dataclass(slots=True)
class Person:
    index: int
    market: Market
    utc_offset: int
    external_id: str
    anonymous_ids: list[str]
    email: str
    phone: str | None
    handles: dict[str, str]
    traits: dict[str, Any]
    buy_rate: float  # propensity to make repeat one-off purchases
    engagement: float  # propensity to open marketing email
    temperament: float  # baseline satisfaction before any service experience
    b2b: bool
    sms_opt_in: bool
    app_user: bool


class PersonFactory:
    """Makes people with identities unique across a run (emails, phones, handles, cookies)."""

    def __init__(self, pools: Pools, rng: Random, end: date) -> None:
        self.pools = pools
        self.rng = rng
        self.end = end
        self.emails: set[str] = set()
        self.handles: set[str] = set()
        self.phone_serial: dict[str, int] = {}
        self.market_weights = [m.weight for m in MARKETS]

    def make(self, index: int, *, b2b: bool = False) -> Person:
        rng = self.rng
        market = rng.choices(MARKETS, self.market_weights)[0]
        gender = rng.choices(("female", "male", "non_binary"), (49, 49, 2))[0]
        names = self.pools.male if gender == "male" else self.pools.female
        first = rng.choice(names[market.locale])
        last = rng.choice(self.pools.last[market.locale])
        age = min(80, max(18, int(rng.gauss(41, 13))))
        traits: dict[str, Any] = {
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "birthday": self._birthday(age).isoformat(),
            "age": age,
            "gender": gender,
            "language": rng.choice(market.languages),
            "country": market.country,
            "income_band": rng.choices(INCOME_BANDS, INCOME_WEIGHTS)[0],
            "occupation": rng.choice(self.pools.jobs),
        }
        company = None
        if b2b or rng.random() < 0.15:
            company = rng.choice(self.pools.companies)
            traits["company"] = company
        wealth = INCOME_BANDS.index(traits["income_band"])
        phone = self._phone(market) if b2b or rng.random() < 0.8 else None
        return Person(
            index=index,
            market=market,
            utc_offset=rng.choice(market.utc_offsets),
            external_id=f"crm-{index + 100_000}",
            anonymous_ids=[self._cookie() for _ in range(rng.choice((1, 1, 1, 2)))],
            email=self._email(first, last, company if b2b else None),
            phone=phone,
            handles=self._handle(first, last) if rng.random() < 0.3 else {},
            traits=traits,
            buy_rate=rng.choice((0.02, 0.04, 0.06, 0.2)) * (0.7 + 0.15 * wealth),
            engagement=rng.betavariate(2, 3),
            temperament=min(0.95, max(0.3, rng.gauss(0.72, 0.1))),
            b2b=b2b,
            sms_opt_in=phone is not None and rng.random() < 0.45,
            app_user=rng.random() < 0.2,
        )

    def _birthday(self, age: int) -> date:
        latest = date(self.end.year - age, self.end.month, min(self.end.day, 28))
        return latest - timedelta(days=self.rng.randrange(1, 365))

    def _cookie(self) -> str:
        return f"anon-{self.rng.getrandbits(64):016x}"

    def _email(self, first: str, last: str, company: str | None) -> str:
        f, last_ = _ascii(first), _ascii(last)
        if company:
            domain = _ascii(company.split(",")[0].split(" ")[0]) + ".example.com"
        else:
            domain = self.rng.choice(EMAIL_DOMAINS)
        local = self.rng.choice((f"{f}.{last_}", f"{f}{last_}", f"{f[:1]}.{last_}", f"{f}_{last_}"))
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def _phone(self, market: Market) -> str:
        """A unique, possible number; North American ones use the fictional 555 exchange."""
        n = self.phone_serial.get(market.country, 0)
        self.phone_serial[market.country] = n + 1
        if market.country in ("US", "CA"):
            areas = US_AREA_CODES if market.country == "US" else CA_AREA_CODES
            exchange, line = divmod(n // len(areas), 9_900)  # lines 0100-0199 are fictional
            return f"+1 {areas[n % len(areas)]} {555 - exchange} {100 + line:04d}"
        if market.country == "DE":
            return f"+49 30 {20_000_000 + n:08d}"
        if market.country == "FR":
            return f"+33 1 99 {n // 10_000:02d} {n // 100 % 100:02d} {n % 100:02d}"
        if market.country == "ES":
            return f"+34 91 {n // 10_000 + 100:03d} {n // 100 % 100:02d} {n % 100:02d}"
        return f"+353 1 {n // 10_000 + 200:03d} {n % 10_000:04d}"

    def _handle(self, first: str, last: str) -> dict[str, str]:
        base = f"{_ascii(first)}_{_ascii(last)[:1]}"
        handle, n = base, 0
        while handle in self.handles:
            n += 1
            handle = f"{base}{n}"
        self.handles.add(handle)
        return {self.rng.choice(HANDLE_NETWORKS): f"@{handle}"}


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().translate(_ASCII))
    return folded.encode("ascii", "ignore").decode() or "x"
