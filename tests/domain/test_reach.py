"""Reach channels from real referrer strings: every row of the shipped table, click ids, UTM
tags winning, the site's own domain as direct, and the table's errors naming the line.

The referrers are what these sites send (most send only their origin since browsers default to
strict-origin-when-cross-origin; some apps and older pages still send the full URL). The expected
channel groups are GA4's default channel grouping (support.google.com/analytics/answer/9756891).
"""

from __future__ import annotations

import pytest

from touchpoint.domain.reach import (
    ReachTable,
    ReachTableError,
    channel_group,
    parse_reach_table,
    reach_of,
)
from touchpoint.ingest.reach import load_reach_table

LANDING = "https://shop.example.com/pricing"

# (table row, referrer, source, medium, group, keyword, post id)
REFERRERS = [
    ("google", "https://www.google.com/", "google", "organic", "Organic Search", None, None),
    ("google", "https://www.google.co.uk/", "google", "organic", "Organic Search", None, None),
    (
        "google",
        "android-app://com.google.android.googlequicksearchbox/",
        "google",
        "organic",
        "Organic Search",
        None,
        None,
    ),
    (
        "bing",
        "https://www.bing.com/search?q=crm+for+call+centers&form=QBLH&sp=-1",
        "bing",
        "organic",
        "Organic Search",
        "crm for call centers",
        None,
    ),
    (
        "duckduckgo",
        "https://duckduckgo.com/?q=touchpoint+crm&t=h_&ia=web",
        "duckduckgo",
        "organic",
        "Organic Search",
        "touchpoint crm",
        None,
    ),
    (
        "yahoo",
        "https://search.yahoo.com/search?p=customer+lifecycle+software&fr=yfp-t",
        "yahoo",
        "organic",
        "Organic Search",
        "customer lifecycle software",
        None,
    ),
    (
        "yahoo",
        "https://uk.search.yahoo.com/",
        "yahoo",
        "organic",
        "Organic Search",
        None,
        None,
    ),
    (
        "baidu",
        "https://www.baidu.com/s?wd=%E5%AE%A2%E6%9C%8D&rsv_spt=1",
        "baidu",
        "organic",
        "Organic Search",
        "客服",
        None,
    ),
    (
        "yandex",
        "https://yandex.ru/search/?text=call+center+software&lr=213",
        "yandex",
        "organic",
        "Organic Search",
        "call center software",
        None,
    ),
    ("yandex", "https://ya.ru/", "yandex", "organic", "Organic Search", None, None),
    (
        "ecosia",
        "https://www.ecosia.org/search?method=index&q=omnichannel+crm",
        "ecosia",
        "organic",
        "Organic Search",
        "omnichannel crm",
        None,
    ),
    (
        "qwant",
        "https://www.qwant.com/?q=helpdesk&t=web",
        "qwant",
        "organic",
        "Organic Search",
        "helpdesk",
        None,
    ),
    (
        "naver",
        "https://search.naver.com/search.naver?where=nexearch&query=crm",
        "naver",
        "organic",
        "Organic Search",
        "crm",
        None,
    ),
    (
        "facebook",
        "https://m.facebook.com/story.php?story_fbid=10159876543210&id=4",
        "facebook",
        "social",
        "Organic Social",
        None,
        "10159876543210",
    ),
    ("facebook", "https://l.facebook.com/", "facebook", "social", "Organic Social", None, None),
    (
        "instagram",
        "https://www.instagram.com/p/C1a2B3c4D5e/",
        "instagram",
        "social",
        "Organic Social",
        None,
        "C1a2B3c4D5e",
    ),
    ("instagram", "https://l.instagram.com/", "instagram", "social", "Organic Social", None, None),
    ("x", "https://t.co/Xy7Qz3Lm9P", "x", "social", "Organic Social", None, "Xy7Qz3Lm9P"),
    (
        "x",
        "https://x.com/touchpoint/status/1730000000000000001",
        "x",
        "social",
        "Organic Social",
        None,
        "1730000000000000001",
    ),
    ("x", "https://twitter.com/", "x", "social", "Organic Social", None, None),
    (
        "linkedin",
        "https://www.linkedin.com/feed/update/urn:li:activity:7135012345678901234/",
        "linkedin",
        "social",
        "Organic Social",
        None,
        "7135012345678901234",
    ),
    ("linkedin", "https://lnkd.in/", "linkedin", "social", "Organic Social", None, None),
    (
        "linkedin",
        "android-app://com.linkedin.android/",
        "linkedin",
        "social",
        "Organic Social",
        None,
        None,
    ),
    (
        "tiktok",
        "https://www.tiktok.com/@touchpoint/video/7301234567890123456",
        "tiktok",
        "social",
        "Organic Social",
        None,
        "7301234567890123456",
    ),
    (
        "youtube",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
        "youtube",
        "social",
        "Organic Social",
        None,
        "dQw4w9WgXcQ",
    ),
    ("youtube", "https://m.youtube.com/", "youtube", "social", "Organic Social", None, None),
    (
        "reddit",
        "https://www.reddit.com/r/CustomerSuccess/comments/18abc9x/best_crm_for_small_team/",
        "reddit",
        "social",
        "Organic Social",
        None,
        "18abc9x",
    ),
    ("reddit", "https://out.reddit.com/", "reddit", "social", "Organic Social", None, None),
    (
        "pinterest",
        "https://www.pinterest.com/pin/123456789012345678/",
        "pinterest",
        "social",
        "Organic Social",
        None,
        "123456789012345678",
    ),
    (
        "threads",
        "https://www.threads.net/@touchpoint/post/C0AbCdEfGh1",
        "threads",
        "social",
        "Organic Social",
        None,
        "C0AbCdEfGh1",
    ),
    ("gmail", "https://mail.google.com/", "gmail", "email", "Email", None, None),
    ("gmail", "android-app://com.google.android.gm/", "gmail", "email", "Email", None, None),
    ("outlook", "https://outlook.live.com/", "outlook", "email", "Email", None, None),
    ("outlook", "https://outlook.office.com/", "outlook", "email", "Email", None, None),
    ("yahoo_mail", "https://mail.yahoo.com/", "yahoo_mail", "email", "Email", None, None),
    ("proton_mail", "https://mail.proton.me/", "proton_mail", "email", "Email", None, None),
    ("icloud_mail", "https://www.icloud.com/", "icloud_mail", "email", "Email", None, None),
]

CLICK_IDS = [
    ("gclid", "google", "cpc", "Paid Search"),
    ("msclkid", "bing", "cpc", "Paid Search"),
    ("fbclid", "facebook", "paid_social", "Paid Social"),
    ("ttclid", "tiktok", "paid_social", "Paid Social"),
    ("li_fat_id", "linkedin", "paid_social", "Paid Social"),
]


@pytest.fixture(scope="module")
def table() -> ReachTable:
    return load_reach_table()


@pytest.mark.parametrize(
    ("row", "referrer", "source", "medium", "group", "keyword", "post"), REFERRERS
)
def test_real_referrer_gets_its_rows_source_medium_and_channel(
    table: ReachTable,
    row: str,
    referrer: str,
    source: str,
    medium: str,
    group: str,
    keyword: str | None,
    post: str | None,
) -> None:
    found = reach_of(referrer, LANDING, table)
    assert found is not None
    assert (found.source, found.medium, found.channel) == (source, medium, group)
    assert (found.keyword, found.creative) == (keyword, post)


def test_every_row_of_the_shipped_table_is_tested_with_a_real_referrer(table: ReachTable) -> None:
    assert {r[0] for r in REFERRERS} == set(table.sources)
    assert {c[0] for c in CLICK_IDS} == set(table.click_ids)


@pytest.mark.parametrize(("param", "source", "medium", "group"), CLICK_IDS)
def test_click_id_on_the_landing_page_is_paid_whatever_the_referrer(
    table: ReachTable, param: str, source: str, medium: str, group: str
) -> None:
    url = f"https://shop.example.com/?{param}=Cj0KCQiA4NWrBhD-ARIsAFCKwWt"
    found = reach_of("https://www.google.com/", url, table)
    assert found is not None
    assert (found.source, found.medium, found.channel) == (source, medium, group)


def test_utm_tags_win_over_click_id_and_referrer(table: ReachTable) -> None:
    url = (
        "https://shop.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=dec_sale"
        "&utm_term=crm&utm_content=hero_banner&gclid=abc"
    )
    found = reach_of("https://mail.google.com/", url, table)
    assert found is not None
    assert found.attribution() == {
        "source": "newsletter",
        "medium": "email",
        "campaign": "dec_sale",
        "keyword": "crm",
        "creative": "hero_banner",
    }
    assert found.channel == "Email"


def test_utm_medium_cpc_is_paid_search(table: ReachTable) -> None:
    found = reach_of(None, "https://shop.example.com/?utm_source=google&utm_medium=cpc", table)
    assert found is not None and found.channel == "Paid Search"


def test_any_other_site_is_a_referral_by_its_domain(table: ReachTable) -> None:
    found = reach_of("https://news.ycombinator.com/item?id=38491234", LANDING, table)
    assert found is not None
    assert found.attribution() == {"source": "news.ycombinator.com", "medium": "referral"}
    assert found.channel == "Referral"
    blog = reach_of("https://www.example-blog.org/2026/best-crms/", LANDING, table)
    assert blog is not None and blog.source == "example-blog.org"


@pytest.mark.parametrize(
    "referrer",
    [
        None,
        "",
        "https://shop.example.com/cart",  # the site itself
        "https://www.shop.example.com/",
        "https://checkout.shop.example.com/step-2",  # a subdomain of the site
        "about:blank",
        "not a url",
    ],
)
def test_no_referrer_or_the_sites_own_domain_is_direct(
    table: ReachTable, referrer: str | None
) -> None:
    assert reach_of(referrer, LANDING, table) is None


def test_listed_own_domains_are_direct_too() -> None:
    table = load_reach_table().merged(
        parse_reach_table('[site]\nown_domains = ["pay.example.net"]\n', "user.toml")
    )
    assert reach_of("https://pay.example.net/return", LANDING, table) is None


def test_a_users_entry_overrides_and_extends_the_shipped_table() -> None:
    user = parse_reach_table(
        '[sources.bing]\nmedium = "referral"\nhosts = ["bing.com"]\n\n'
        '[sources.kagi]\nmedium = "organic"\nhosts = ["kagi.com"]\nkeyword = "q"\n',
        "user.toml",
    )
    table = load_reach_table().merged(user)
    bing = reach_of("https://www.bing.com/", LANDING, table)
    kagi = reach_of("https://kagi.com/search?q=crm", LANDING, table)
    assert bing is not None and bing.medium == "referral"
    assert kagi is not None and (kagi.source, kagi.keyword) == ("kagi", "crm")
    google = reach_of("https://www.google.com/", LANDING, table)
    assert google is not None and google.source == "google"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sources.x]\nhosts = ["x.com"]\n', "user.toml: sources.x (line 1): missing `medium`"),
        (
            '\n[sources.y]\nmedium = "social"\nhosts = "y.com"\n',
            "user.toml: sources.y (line 2): `hosts` must be a list",
        ),
        (
            '[sources.z]\nmedium = "social"\nhosts = ["z.com"]\npost = "(unclosed"\n',
            "user.toml: sources.z (line 1): `post` is not a regular expression",
        ),
        ('[click_ids.abc]\nsource = "a"\n', "user.toml: click_ids.abc (line 1): must be"),
        ("[channels]\n", "user.toml: unknown top-level key(s) channels"),
        ("[sources\n", "user.toml: not valid TOML"),
    ],
)
def test_a_bad_table_names_the_entry_and_its_line(text: str, message: str) -> None:
    with pytest.raises(ReachTableError) as caught:
        parse_reach_table(text, "user.toml")
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("medium", "group"),
    [(None, "Direct"), ("ppc", "Paid Search"), ("paid-search", "Paid Search"), ("print", "Other")],
)
def test_channel_group_of_other_mediums_follows_ga4(medium: str | None, group: str) -> None:
    assert channel_group(medium) == group
