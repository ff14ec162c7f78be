"""The policy engine: engage before promoting, stay within what X allows and within a budget.

Only the ledger (`actions`: what the account actually did, through the API or by a person after a hand-off
was seen on X) earns credits; drafts and approvals do not. Every draft passes two checkpoints under one
lock (`gate`): a person's approval and the moment it goes out, so racing approvals or workers cannot both
pass on the same standing.

Public API (everything takes the caller's session and an aware UTC `now` from its Clock):

    verdict(session, draft, config, now, stage="approval"|"posting") -> Verdict
        Verdict(allowed, held, reason, missing, retry_at, promotional, promotion_why, rules)
        held: not allowed yet, but engagement or time can lift it; missing: engagements still needed;
        reason: "needs 2 more engagements (2 of 4 since your last promotion, Tue 21:14)".
    is_promotional(text, config, drafter_flag=False) -> (bool, why)      strictest signal wins
    draft_promotion(draft, config) -> (bool, why)                        a person's reclassification first
    reclassify(session, draft_id, promotional, config, *, by, at) -> Draft        logged as a draft event
    entities(text) -> Entities(hashtags, mentions, links)
    route_for(draft, target_post, config, *, own_post_ids=()) -> RouteChoice(route, handoff_url, why)
    own_posts(session) -> set[str];  target_post(session, draft) -> ChatPost | None
    may_engage_with(session, username, chat_slug, config, now) -> (bool, why)    for triage: blocklist,
                                                        opt-outs, replies per person per chat session
    note_opt_out(session, chat_post, chat_slug, config) -> OptOut | None       the reader calls it per post
    standing(session, config, now, chat=None) -> Standing;  render_standing(standing, as_json=...) -> str
    rules_for(config, chat_slug) -> ChatRules                            a chat's effective policy
    lock(session, now)                                  the policy lock: first thing in the transaction
    check_approval(session, draft, config, now) -> Verdict               routes, then raises PolicyHold
    claim(session, draft_id, config, now, *, by) -> Claim(draft | None, verdict | None)   posting checkpoint
    PolicyHold(DraftStateError): .draft_id, .verdict
    record_action(session, draft, config, *, x_post_id, at, via) -> Action      the ledger row
    UsageRecorder(store)                  the gateway's `on_request`: priced `x_usage` rows
    read_mode(session, chat, run, config, now) -> (ReadMode | None, why)      narrowed or stopped by budget
    ReadBudget().mode(store, chat, run, config, now)    the same, looked up once a minute, changes logged
    month_spend(session, now), chat_spend(session, run_id) -> Decimal
    purge_texts(session, now) -> int;  forget_deleted(session, tweet_id, now) -> int;
    check_deleted_targets(store, gateway, now) -> int                    retention
"""

from bot.policy.budget import ReadBudget, UsageRecorder, chat_spend, month_spend, read_mode
from bot.policy.gate import Claim, PolicyHold, check_approval, claim, lock
from bot.policy.ledger import record_action
from bot.policy.people import may_engage_with, note_opt_out, opted_out
from bot.policy.promotion import Entities, draft_promotion, entities, is_promotional, reclassify
from bot.policy.retention import check_deleted_targets, forget_deleted, purge_texts
from bot.policy.routing import RouteChoice, own_posts, route_for, target_post
from bot.policy.rules import ChatRules, Verdict, rules_for, verdict
from bot.policy.standing import Standing, render_standing, standing

__all__ = [
    "ChatRules",
    "Claim",
    "Entities",
    "PolicyHold",
    "ReadBudget",
    "RouteChoice",
    "Standing",
    "UsageRecorder",
    "Verdict",
    "chat_spend",
    "check_approval",
    "check_deleted_targets",
    "claim",
    "draft_promotion",
    "entities",
    "forget_deleted",
    "is_promotional",
    "lock",
    "may_engage_with",
    "month_spend",
    "note_opt_out",
    "opted_out",
    "own_posts",
    "purge_texts",
    "read_mode",
    "reclassify",
    "record_action",
    "render_standing",
    "route_for",
    "rules_for",
    "standing",
    "target_post",
    "verdict",
]
