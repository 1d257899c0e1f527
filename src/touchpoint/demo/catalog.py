"""The fixed catalog of the demo business, Bean & Burr (a coffee roaster and equipment shop):
its campaigns, products, subscription plans, markets and web pages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    source: str
    medium: str
    keywords: tuple[str, ...]  # search terms, or the audience interests of a social campaign
    creatives: tuple[str, ...]
    landing: str
    weight: float  # share of new people this campaign reaches
    quality: float  # how likely a click turns into a signup


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign(
        "brand-search",
        "google",
        "cpc",
        ("bean and burr", "beanandburr coffee", "bean burr grinder"),
        ("text-brand-a", "text-brand-b"),
        "/",
        8,
        0.8,
    ),
    Campaign(
        "espresso-machines-search",
        "google",
        "cpc",
        ("espresso machine", "best home espresso machine", "espresso machine with grinder"),
        ("text-machines-a", "text-machines-b", "shopping-aurora"),
        "/products/espresso-machines",
        9,
        0.55,
    ),
    Campaign(
        "subscription-search",
        "google",
        "cpc",
        ("coffee subscription", "fresh coffee beans delivery", "specialty coffee monthly"),
        ("text-subscription-a", "text-subscription-b"),
        "/subscribe",
        8,
        0.6,
    ),
    Campaign(
        "grinders-display",
        "google",
        "display",
        ("burr grinder", "coffee grinder review"),
        ("banner-300x250-conic", "banner-728x90-flat"),
        "/products/grinders",
        5,
        0.35,
    ),
    Campaign(
        "latte-art-reels",
        "meta",
        "social",
        ("latte art", "home barista"),
        ("reel-latte-art-15s", "reel-latte-art-30s"),
        "/products/espresso-machines",
        9,
        0.45,
    ),
    Campaign(
        "spring-blend-launch",
        "meta",
        "social",
        ("specialty coffee", "coffee lovers"),
        ("carousel-spring-blend", "story-spring-blend"),
        "/subscribe",
        6,
        0.5,
    ),
    Campaign(
        "barista-challenge",
        "tiktok",
        "social",
        ("coffee tok", "barista"),
        ("ugc-barista-challenge", "ugc-pour-over-duet"),
        "/",
        7,
        0.35,
    ),
    Campaign(
        "unboxing-creators",
        "tiktok",
        "social",
        ("unboxing", "kitchen gadgets"),
        ("creator-unboxing-aurora", "creator-unboxing-grinder"),
        "/products/espresso-machines",
        5,
        0.4,
    ),
    Campaign(
        "office-coffee-b2b",
        "linkedin",
        "social",
        ("office manager", "workplace perks"),
        ("sponsored-office-coffee", "lead-gen-office-trial"),
        "/office",
        4,
        0.5,
    ),
    Campaign(
        "weekly-brew-newsletter",
        "newsletter",
        "email",
        ("weekly brew",),
        ("issue-header", "issue-footer-offer"),
        "/blog/weekly-brew",
        4,
        0.55,
    ),
    Campaign(
        "holiday-gift-guide",
        "newsletter",
        "email",
        ("gift guide",),
        ("gift-guide-hero", "gift-guide-bundles"),
        "/gifts",
        4,
        0.5,
    ),
    Campaign(
        "coffee-blog-partners",
        "coffeegeek",
        "referral",
        ("grinder review", "espresso guide"),
        ("review-link", "guide-link"),
        "/products/grinders",
        4,
        0.65,
    ),
)
RETARGETING = Campaign(
    "retargeting-display",
    "google",
    "display",
    ("site visitors",),
    ("banner-come-back", "banner-free-shipping"),
    "/cart",
    0,
    0.6,
)
REFER_A_FRIEND = Campaign(
    "refer-a-friend", "referral", "referral", (), ("invite-link",), "/invite", 0, 0.85
)
WIN_BACK = Campaign(
    "win-back", "newsletter", "email", ("we miss you",), ("winback-20-off",), "/", 0, 0.0
)


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price: float  # in USD; EUR prices are the same figures (a common price list)
    fault_rate: float  # chance per month, soon after buying, that it needs support


PRODUCTS: tuple[Product, ...] = (
    Product("BB-ESP-100", "Aurora espresso machine", "machines", 649.0, 0.10),
    Product("BB-ESP-200", "Aurora Pro espresso machine", "machines", 1199.0, 0.12),
    Product("BB-GRD-050", "Conic burr grinder", "grinders", 189.0, 0.06),
    Product("BB-GRD-080", "Flat burr grinder", "grinders", 349.0, 0.07),
    Product("BB-KET-010", "Gooseneck kettle", "accessories", 79.0, 0.02),
    Product("BB-SCL-010", "Brew scale", "accessories", 49.0, 0.02),
    Product("BB-ACC-020", "Milk pitcher", "accessories", 24.0, 0.01),
    Product("BB-CLN-010", "Descaling kit", "accessories", 19.0, 0.01),
    Product("BB-BNS-ETH", "Ethiopia Guji beans 1kg", "beans", 34.0, 0.01),
    Product("BB-BNS-COL", "Colombia Huila beans 1kg", "beans", 29.0, 0.01),
    Product("BB-BNS-HSE", "House espresso blend 1kg", "beans", 26.0, 0.01),
    Product("BB-BNS-DEC", "Swiss water decaf 1kg", "beans", 31.0, 0.01),
)
PRODUCT_WEIGHTS = (4, 1, 3, 2, 3, 3, 2, 3, 6, 6, 7, 2)

PLANS: dict[str, float] = {"explorer": 19.0, "enthusiast": 34.0, "barista": 59.0, "office": 149.0}


@dataclass(frozen=True, slots=True)
class Market:
    country: str
    locale: str  # the Faker locale names are drawn from
    languages: tuple[str, ...]
    currency: str  # the shop prices the Americas in USD and the euro area in EUR
    utc_offsets: tuple[int, ...]  # hours to add to local time to get UTC
    weight: float


MARKETS: tuple[Market, ...] = (
    Market("US", "en_US", ("en", "en", "en", "es"), "USD", (5, 5, 6, 7, 8), 0.56),
    Market("CA", "en_US", ("en", "en", "fr"), "USD", (5, 5, 8), 0.07),
    Market("DE", "de_DE", ("de",), "EUR", (-1,), 0.12),
    Market("FR", "fr_FR", ("fr",), "EUR", (-1,), 0.10),
    Market("ES", "es_ES", ("es",), "EUR", (-1,), 0.08),
    Market("IE", "en_IE", ("en",), "EUR", (0,), 0.07),
)

BROWSE_PAGES = (
    "/",
    "/pricing",
    "/subscribe",
    "/products/espresso-machines",
    "/products/grinders",
    "/products/beans",
    "/products/accessories",
    "/blog/dialing-in-espresso",
    "/blog/pour-over-guide",
    "/about",
    "/reviews",
)
HELP_PAGES = ("/help/descaling", "/help/shipping", "/help/returns", "/help/grind-size")
NEWSLETTERS = ("weekly-brew", "new-arrivals", "brew-guide", "member-offers")
ONBOARDING = ("welcome", "first-brew-tips", "meet-the-roasters")

HEARD_FROM = {
    "google": ("search", "search", "search", "ad"),
    "meta": ("instagram", "facebook", "ad"),
    "tiktok": ("tiktok", "tiktok", "ad"),
    "linkedin": ("linkedin", "colleague"),
    "newsletter": ("newsletter", "friend"),
    "coffeegeek": ("blog", "review_site"),
    "referral": ("friend", "friend", "family"),
    "social": ("instagram", "tiktok", "youtube"),
    None: ("podcast", "podcast", "friend", "youtube", "event", "other"),
}

TICKET_CATEGORIES = {
    "machines": ("machine_fault", "machine_fault", "setup_help", "warranty"),
    "grinders": ("grinder_fault", "setup_help"),
    "order": ("delivery_late", "wrong_item", "damaged_in_transit", "billing"),
    "subscription": ("billing", "change_plan", "skip_delivery"),
}
CANCEL_REASONS_SERVICE = ("poor_service", "unresolved_issue", "too_slow_support")
CANCEL_REASONS_OTHER = ("too_expensive", "moving", "too_much_coffee", "switched_brand", "other")
HANDLE_NETWORKS = ("instagram", "instagram", "tiktok", "twitter", "facebook")
