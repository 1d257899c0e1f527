"""domain/resolution.py: who each event belongs to, merges, merge protection and conflicts,
profiles folded and unfolded, and how an unmerge divides a customer."""

from __future__ import annotations

from itertools import count

from tests.domain.graph import Graph
from touchpoint.domain.resolution import (
    Conflict,
    CustomerFacts,
    Merge,
    customers_to_check,
    fold_profiles,
    resolve_batch,
    split_merge,
    unmerge_traits,
)

U1, U2, U7, U8 = "external_id:u1", "external_id:u2", "external_id:u7", "external_id:u8"
SHARED = "email:family@example.com"


def ids(prefix: str = "n"):  # type: ignore[no-untyped-def]
    numbers = count(1)
    return lambda: f"{prefix}{next(numbers)}"


def ranks(*customers: str) -> dict[str, tuple[str, int]]:
    """Customers in age order, oldest first."""
    return {cid: (f"2026-01-0{i + 1}", 0) for i, cid in enumerate(customers)}


def facts(**limited: set[str]) -> dict[str, CustomerFacts]:
    return {cid: CustomerFacts(frozenset(keys)) for cid, keys in limited.items()}


# --- assignment and merges ---------------------------------------------------------------------


def test_unknown_keys_make_one_new_customer_and_known_keys_find_theirs() -> None:
    result = resolve_batch(
        [["email:a@x.co", "anonymous_id:c1"], ["anonymous_id:c1"], ["email:b@x.co"], [U1]],
        {U1: "old"},
        ranks("old"),
        ids(),
    )
    assert result.customer_of_event == ["n1", "n1", "n2", "old"]
    assert result.new_customers == ["n1", "n2"]
    assert result.new_identities == {
        "email:a@x.co": "n1",
        "anonymous_id:c1": "n1",
        "email:b@x.co": "n2",
    }
    assert result.merges == [] and result.conflicts == []


def test_an_event_tying_two_customers_merges_them_into_the_oldest() -> None:
    owners = {"email:bob@x.co": "young", "phone:+14155550199": "old"}
    result = resolve_batch(
        [["email:bob@x.co", "phone:+14155550199"]], owners, ranks("old", "young"), ids()
    )
    assert result.customer_of_event == ["old"]
    assert result.merges == [Merge("old", "young", 0, "phone:+14155550199")]
    assert result.survivor_of == {"young": "old"}


def test_merges_inside_a_batch_resolve_to_the_final_survivor_and_list_moved_keys() -> None:
    # c-1 (new) gains a phone, the phone's profile gains an email, the email ties it to `old`
    events = [
        ["anonymous_id:c-1"],
        ["anonymous_id:c-1", "phone:+14155550111"],
        ["email:new@x.co", "phone:+14155550111"],
        ["email:old@x.co", "email:new@x.co"],
    ]
    result = resolve_batch(events, {"email:old@x.co": "old"}, ranks("old"), ids())
    assert result.customer_of_event == ["old", "old", "old", "old"]
    (merge,) = result.merges
    assert (merge.survivor_id, merge.merged_id, merge.event_index) == ("old", "n1", 3)
    assert set(merge.batch_keys) == {"anonymous_id:c-1", "phone:+14155550111", "email:new@x.co"}
    assert set(result.new_identities.values()) == {"old"}


def test_a_new_strongest_key_joins_the_profile_a_weaker_key_names_without_a_merge() -> None:
    # the signup names a user id nobody has and the cookie of an anonymous profile
    result = resolve_batch(
        [[U2, "anonymous_id:c9"]], {"anonymous_id:c9": "anon"}, ranks("anon"), ids()
    )
    assert result.customer_of_event == ["anon"]
    assert result.new_customers == [] and result.merges == []
    assert result.new_identities == {U2: "anon"}


# --- merge protection --------------------------------------------------------------------------


def test_a_shared_email_does_not_glue_two_signed_up_users() -> None:
    """mum holds u1 and the family email; the son signs up with u2 and the same email."""
    result = resolve_batch(
        [[U2, SHARED, "phone:+14155550100"]],
        {SHARED: "mum"},
        ranks("mum"),
        ids(),
        facts=facts(mum={U1}),
    )
    assert result.customer_of_event == ["n1"]  # the son: his user id names a new customer
    assert result.new_identities == {U2: "n1", "phone:+14155550100": "n1"}  # not the email
    assert result.merges == []
    assert result.conflicts == [Conflict("n1", "mum", SHARED, 0, "limit:external_id")]


def test_the_event_lands_on_the_customer_its_strongest_key_names() -> None:
    result = resolve_batch(
        [[U1, SHARED]],
        {U1: "mum", SHARED: "son"},
        ranks("mum", "son"),
        ids(),
        facts=facts(mum={U1}, son={U2}),
    )
    assert result.customer_of_event == ["mum"]
    assert result.conflicts == [Conflict("mum", "son", SHARED, 0, "limit:external_id")]
    assert result.new_identities == {} and result.merges == []


def test_protection_lets_a_profile_without_an_external_id_merge() -> None:
    result = resolve_batch(
        [[U1, "phone:+14155550100"]],
        {U1: "user", "phone:+14155550100": "caller"},
        ranks("caller", "user"),
        ids(),
        facts=facts(user={U1}, caller=set()),
    )
    assert result.customer_of_event == ["caller"]  # the older profile survives
    assert result.merges == [Merge("caller", "user", 0, "phone:+14155550100")]
    assert result.conflicts == []


def test_a_higher_limit_allows_the_merge() -> None:
    result = resolve_batch(
        [[U2, SHARED]],
        {SHARED: "mum"},
        ranks("mum"),
        ids(),
        limits={"external_id": 2},
        facts=facts(mum={U1}),
    )
    assert result.customer_of_event == ["mum"]
    assert result.new_identities == {U2: "mum"}
    assert result.conflicts == []


def test_a_limit_on_emails_keeps_two_emails_apart() -> None:
    # ann has email a; bea has email b and a phone; an event shows email a with bea's phone
    result = resolve_batch(
        [["email:a@x.co", "phone:+14155550100"]],
        {"email:a@x.co": "ann", "phone:+14155550100": "bea"},
        ranks("ann", "bea"),
        ids(),
        limits={"email": 1},
        facts=facts(ann={"email:a@x.co"}, bea={"email:b@x.co"}),
    )
    assert result.customer_of_event == ["ann"]
    assert result.conflicts == [Conflict("ann", "bea", "phone:+14155550100", 0, "limit:email")]


def test_customers_kept_apart_by_an_unmerge_are_not_merged_again_implicitly() -> None:
    kept = {"ann": CustomerFacts(kept_apart=frozenset({"bea"}))}
    result = resolve_batch(
        [["email:a@x.co", "phone:+14155550100"]],
        {"email:a@x.co": "ann", "phone:+14155550100": "bea"},
        ranks("ann", "bea"),
        ids(),
        facts=kept,
    )
    assert result.customer_of_event == ["ann"]
    assert result.conflicts == [Conflict("ann", "bea", "phone:+14155550100", 0, "unmerged")]


def test_protection_reads_facts_only_for_customers_an_event_would_merge() -> None:
    read: list[str] = []

    class Spy(dict[str, CustomerFacts]):
        def get(self, cid, default=None):  # type: ignore[no-untyped-def,override]
            read.append(cid)
            return CustomerFacts()

    resolve_batch(
        [[U1], [U1, "email:new@x.co"], ["email:x@x.co", "phone:+1415555"]],
        {U1: "a", "email:x@x.co": "b", "phone:+1415555": "c"},
        ranks("a", "b", "c"),
        ids(),
        facts=Spy(),
    )
    assert sorted(set(read)) == ["b", "c"]


# --- aliases -------------------------------------------------------------------------------


def test_an_alias_merges_two_user_ids_whatever_the_limit() -> None:
    result = resolve_batch(
        [[U7, "previous_id:u8"]],
        {U7: "seven", U8: "eight"},
        ranks("seven", "eight"),
        ids(),
        facts=facts(seven={U7}, eight={U8}),
    )
    assert result.customer_of_event == ["seven"]
    assert result.merges == [Merge("seven", "eight", 0, "previous_id:u8", explicit=True)]
    assert result.new_identities == {"previous_id:u8": "seven"}
    assert result.conflicts == []


def test_an_alias_can_name_an_anonymous_id() -> None:
    result = resolve_batch(
        [[U7, "previous_id:ck-1"]],
        {"anonymous_id:ck-1": "visitor"},
        ranks("visitor"),
        ids(),
    )
    assert result.customer_of_event == ["visitor"]
    assert result.new_identities == {U7: "visitor", "previous_id:ck-1": "visitor"}


def test_a_pending_alias_catches_the_previous_id_when_it_appears() -> None:
    graph = Graph()
    graph.ingest([("alias", [U7, "previous_id:u8"])])
    graph.ingest([("identify", [U8]), ("page", ["anonymous_id:u8"])])
    assert graph.event_partition() == {frozenset({"alias", "identify", "page"})}
    assert graph.key_partition() == {frozenset({U7, "previous_id:u8", U8, "anonymous_id:u8"})}


def test_an_alias_later_in_the_batch_settles_a_conflict_of_the_batch() -> None:
    result = resolve_batch(
        [[U2, SHARED], [U1, "previous_id:u2"]],
        {SHARED: "mum", U1: "mum"},
        ranks("mum"),
        ids(),
        facts=facts(mum={U1}),
    )
    assert result.customer_of_event == ["mum", "mum"]
    assert result.conflicts == []  # the alias merged them: nothing is left to review
    assert result.merges == [Merge("mum", "n1", 1, "previous_id:u2", (U2,), explicit=True)]


def test_customers_to_check_are_those_an_event_could_merge() -> None:
    owners = {U1: "a", "email:x@x.co": "b", "phone:+1": "c", "anonymous_id:k": "d", U8: "e"}
    events = [
        [U1],  # one customer, known strongest key: nothing to check
        [U1, "email:new@x.co"],  # a new weaker key joins a: nothing to check
        ["email:x@x.co", "phone:+1"],  # b and c could merge
        [U2, "anonymous_id:k"],  # a new strongest key meets d
        [U7, "previous_id:u8"],  # an alias reaches e
    ]
    assert customers_to_check(events, owners) == {"b", "c", "d", "e"}


# --- profiles -------------------------------------------------------------------------------


def test_folded_profiles_keep_each_traits_newest_value_and_the_survivor_wins_ties() -> None:
    merged = (
        {"plan": "pro", "name": "Gus", "city": "Oslo"},
        {"plan": "b", "name": "a", "city": "a"},
    )
    survivor = ({"plan": "basic", "name": "Gustav"}, {"plan": "a", "name": "a"})
    assert fold_profiles([merged, survivor]) == (
        {"plan": "pro", "name": "Gustav", "city": "Oslo"},
        {"plan": "b", "name": "a", "city": "a"},
    )


def test_unmerge_gives_the_survivor_back_what_the_merged_profile_overwrote() -> None:
    survivor_then = ({"plan": "basic", "name": "Gus"}, {"plan": "t1", "name": "t1"})
    merged_then = (
        {"plan": "pro", "city": "Oslo", "name": "Gus"},
        {"plan": "t2", "city": "t2", "name": "t1"},
    )
    # after the merge: plan and city came from the merged profile, name from both, and since
    # then a newer lang was said
    current = (
        {"plan": "pro", "name": "Gus", "city": "Oslo", "lang": "no"},
        {"plan": "t2", "name": "t1", "city": "t2", "lang": "t3"},
    )
    assert unmerge_traits(current, survivor_then, merged_then) == (
        {"plan": "basic", "name": "Gus", "lang": "no"},
        {"plan": "t1", "name": "t1", "lang": "t3"},
    )


def test_unmerge_keeps_a_value_said_again_after_the_merge() -> None:
    survivor_then = ({"plan": "basic"}, {"plan": "t1"})
    merged_then = ({"plan": "pro"}, {"plan": "t2"})
    current = ({"plan": "pro"}, {"plan": "t5"})  # said again later: the survivor's own now
    assert unmerge_traits(current, survivor_then, merged_then) == current


# --- dividing a customer when a merge is undone ------------------------------------------------


def test_split_gives_back_the_merged_customers_keys_and_interactions() -> None:
    # seqs 1-2 were the survivor's, 3-4 the merged one's; the merge came at position 4.
    # Since then: 5 carries only the merged one's cookie, 6 the survivor's email, 7 ties a new
    # phone to the cookie, 8 carries that phone alone.
    interactions = [
        (1, ["email:s@x.co"]),
        (2, ["email:s@x.co", "anonymous_id:s1"]),
        (3, ["anonymous_id:m1"]),
        (4, ["anonymous_id:m1", "handle:twitter:m"]),
        (5, ["anonymous_id:m1"]),
        (6, ["email:s@x.co"]),
        (7, ["anonymous_id:m1", "phone:+14155550100"]),
        (8, ["phone:+14155550100"]),
    ]
    held = {
        "email:s@x.co",
        "anonymous_id:s1",
        "anonymous_id:m1",
        "handle:twitter:m",
        "phone:+14155550100",
    }
    split = split_merge(interactions, held, ["anonymous_id:m1", "handle:twitter:m"], 4)
    assert split.keys_back == {"anonymous_id:m1", "handle:twitter:m", "phone:+14155550100"}
    assert split.interactions_back == (3, 4, 5, 7, 8)


def test_split_sends_an_interaction_with_keys_of_both_sides_by_its_strongest() -> None:
    interactions = [(1, ["email:s@x.co"]), (2, [U1]), (3, [U1, "email:s@x.co"])]
    split = split_merge(interactions, {"email:s@x.co", U1}, [U1], 2)
    assert split.interactions_back == (2, 3)  # external id > email
    assert split.keys_back == {U1}


def test_split_ignores_keys_the_survivor_does_not_hold() -> None:
    # 2 carried a contested email owned by someone else: only the cookie decides
    split = split_merge(
        [(1, ["anonymous_id:s"]), (2, ["email:other@x.co", "anonymous_id:m"])],
        {"anonymous_id:s", "anonymous_id:m"},
        ["anonymous_id:m"],
        2,
    )
    assert split.interactions_back == (2,)


def test_split_sends_back_legacy_interactions_the_merge_moved() -> None:
    split = split_merge(
        [(1, None), (2, None), (3, ["anonymous_id:m"])],
        {"anonymous_id:m"},
        ["anonymous_id:m"],
        3,
        legacy_back=[2],
    )
    assert split.interactions_back == (2, 3)
