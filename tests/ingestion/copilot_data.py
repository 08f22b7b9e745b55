"""Realistic Copilot usage metrics for the connector tests: daily reports and the older metrics API, built into a CopilotSimulator."""

import random
from datetime import date, timedelta
from typing import Any

from ingestion.sim.copilot import CopilotSimulator

TOKEN = "ghp_C0pil0tMetricsT0kenF0rTests000000000"
ORG = "acme"
TEAMS = {"platform": 501, "web": 502, "tiny": 503}
# user id -> (login, team slugs); "tiny" has too few seats, so GitHub leaves it out of user-teams.
PEOPLE = {
    1001: ("ada", ["platform"]), 1002: ("bo", ["platform", "web"]), 1003: ("cy", ["platform"]),
    1004: ("di", ["web"]), 1005: ("ed", ["web"]), 1006: ("flo", ["platform"]), 1007: ("gus", []),
}  # fmt: skip
FEATURES = ("code_completion", "chat_panel_agent_mode", "agent_edit", "chat_inline")


def user_day(user_id: int, day: date) -> dict[str, Any] | None:
    """One person's activity that day, or None when they did not use Copilot."""
    rng = random.Random(f"{user_id}:{day}")
    if day.weekday() >= 5 or rng.random() < 0.2:
        return None
    login = PEOPLE[user_id][0]
    features = []
    for feature in FEATURES:
        added = rng.randint(0, 60)
        features.append({"feature": feature, "code_generation_activity_count": rng.randint(1, 30),
                         "code_acceptance_activity_count": rng.randint(0, 10), "loc_suggested_to_add_sum": 0 if feature == "agent_edit" else added + rng.randint(0, 40),
                         "loc_suggested_to_delete_sum": 0, "loc_added_sum": added, "loc_deleted_sum": rng.randint(0, 10) if feature == "agent_edit" else 0,
                         "user_initiated_interaction_count": 0 if feature in ("code_completion", "agent_edit") else rng.randint(1, 12)})  # fmt: skip
    totals = {key: sum(f[key] for f in features) for key in (
        "code_generation_activity_count", "code_acceptance_activity_count", "loc_suggested_to_add_sum",
        "loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum", "user_initiated_interaction_count")}  # fmt: skip
    return {"day": day.isoformat(), "user_id": user_id, "user_login": login, "organization_id": "9001", "enterprise_id": "77",
            **totals, "totals_by_feature": features,
            "totals_by_ide": [{"ide": "vscode", **{k: totals[k] for k in totals}}],
            "totals_by_language_feature": [], "totals_by_language_model": [], "totals_by_model_feature": [],
            "used_agent": True, "used_chat": True, "used_cli": False}  # fmt: skip


def organization_day(day: date, users: list[dict[str, Any]]) -> dict[str, Any]:
    rng = random.Random(f"org:{day}")
    keys = ("code_generation_activity_count", "code_acceptance_activity_count", "loc_suggested_to_add_sum",
            "loc_suggested_to_delete_sum", "loc_added_sum", "loc_deleted_sum", "user_initiated_interaction_count")  # fmt: skip
    totals = {k: sum(u[k] for u in users) for k in keys}
    features: dict[str, dict[str, Any]] = {}
    for user in users:
        for f in user["totals_by_feature"]:
            merged = features.setdefault(
                f["feature"], {"feature": f["feature"], **dict.fromkeys(keys, 0)}
            )
            for k in keys:
                merged[k] += f[k]
    created = rng.randint(3, 20)
    return {"day": day.isoformat(), "organization_id": "9001", "enterprise_id": "77", "daily_active_users": len(users),
            "weekly_active_users": len(PEOPLE) - 1, "monthly_active_users": len(PEOPLE), "monthly_active_chat_users": 5,
            "monthly_active_agent_users": 4, **totals, "totals_by_feature": list(features.values()), "totals_by_ide": [],
            "totals_by_language_feature": [], "totals_by_language_model": [], "totals_by_model_feature": [],
            "pull_requests": {"total_created": created, "total_reviewed": created - 1, "total_merged": created - 2,
                              "median_minutes_to_merge": 95.5, "total_suggestions": 7, "total_applied_suggestions": 3,
                              "total_created_by_copilot": 2, "total_merged_created_by_copilot": 1,
                              "total_reviewed_by_copilot": 4, "total_copilot_suggestions": 5,
                              "total_copilot_applied_suggestions": 2, "copilot_suggestions_by_comment_type": []},
            "daily_active_copilot_code_review_users": 2, "brand_new_field": 1}  # fmt: skip


def legacy_day(day: date, team: str | None = None) -> dict[str, Any]:
    rng = random.Random(f"legacy:{team}:{day}")

    def language(name: str) -> dict[str, Any]:
        suggestions = rng.randint(50, 300)
        return {"name": name, "total_engaged_users": rng.randint(1, 5), "total_code_suggestions": suggestions,
                "total_code_acceptances": suggestions // 3, "total_code_lines_suggested": suggestions * 2,
                "total_code_lines_accepted": suggestions // 2}  # fmt: skip

    return {
        "date": day.isoformat(), "total_active_users": 12 if team is None else 6, "total_engaged_users": 10 if team is None else 5,
        "copilot_ide_code_completions": {"total_engaged_users": 9, "languages": [{"name": "python", "total_engaged_users": 6}],
            "editors": [{"name": "vscode", "total_engaged_users": 8, "models": [{"name": "default", "is_custom_model": False,
                "custom_model_training_date": None, "total_engaged_users": 8, "languages": [language("python"), language("typescript")]}]},
                {"name": "jetbrains", "total_engaged_users": 2, "models": [{"name": "default", "is_custom_model": False,
                "custom_model_training_date": None, "total_engaged_users": 2, "languages": [language("kotlin")]}]}]},
        "copilot_ide_chat": {"total_engaged_users": 5, "editors": [{"name": "vscode", "total_engaged_users": 5, "models": [
            {"name": "default", "is_custom_model": False, "custom_model_training_date": None, "total_engaged_users": 5,
             "total_chats": 40, "total_chat_insertion_events": 11, "total_chat_copy_events": 6}]}]},
        "copilot_dotcom_chat": {"total_engaged_users": 3, "models": [{"name": "default", "is_custom_model": False,
            "custom_model_training_date": None, "total_engaged_users": 3, "total_chats": 9}]},
        "copilot_dotcom_pull_requests": {"total_engaged_users": 2, "repositories": [{"name": "acme/web", "total_engaged_users": 2,
            "models": [{"name": "default", "is_custom_model": False, "custom_model_training_date": None,
                        "total_pr_summaries_created": 3, "total_engaged_users": 2}]}]},
    }  # fmt: skip


def fill(sim: CopilotSimulator, first: date, last: date) -> None:
    """Reports for the weekdays from first to last (a day without activity has no report: 204); the older API has every day."""
    day = first
    while day <= last:
        users = [u for uid in PEOPLE if (u := user_day(uid, day)) is not None]
        if day.weekday() < 5:
            sim.organization_days[day] = organization_day(day, users)
            sim.user_days[day] = users
            sim.user_team_days[day] = [
                {"user_id": uid, "user_login": login, "day": day.isoformat(), "organization_id": "9001",
                 "team_id": TEAMS[slug], "slug": slug}
                for uid, (login, slugs) in PEOPLE.items() for slug in slugs
            ]  # fmt: skip
        sim.legacy_days[day] = legacy_day(day)
        for team in ("platform", "web"):
            sim.legacy_team_days.setdefault(team, {})[day] = legacy_day(day, team)
        day += timedelta(days=1)
