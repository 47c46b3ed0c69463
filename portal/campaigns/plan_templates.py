"""A plan template per campaign format: the checklist a team runs for a 问答, a 投票, a 直播, a
知识挑战 or a 短视频, each task with a stable key and a due time relative to the campaign's
start or end.

The titles are data (the work as these teams name it), not interface strings: they are
stored on the task when the template is applied and edited freely afterwards.

Due times: ``Due("start", -3, "17:30")`` is 17:30 on the third working day before the
campaign's start (preparation and follow-up fall on working days of the portal's calendar,
holidays and 调休 included); ``Due("end")`` (no days, no clock) is the end itself — the work
that runs through the campaign (控评, 收集提问) is done when it ends. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.sla.calendar import BusinessCalendar


@dataclass(frozen=True)
class Due:
    anchor: str  # start | end
    working_days: int = 0  # before (< 0) or after (> 0) the anchor's day, counted in working days
    at: str | None = None  # "HH:MM" local time; None: the anchor's own time

    def resolve(self, starts_at: datetime | None, ends_at: datetime | None, calendar: BusinessCalendar):
        """The due time for a campaign with these dates (None when the anchor is not set)."""
        anchor = starts_at if self.anchor == "start" else ends_at
        if anchor is None:
            return None
        local = calendar.local(anchor)
        if not self.working_days and self.at is None:
            return local
        day = _working_day(calendar, local.date(), self.working_days) if self.working_days else local.date()
        clock = time.fromisoformat(self.at) if self.at is not None else local.time()
        return datetime.combine(day, clock, tzinfo=calendar.timezone)


def _working_day(calendar: BusinessCalendar, day: date, count: int) -> date:
    """The ``count``-th working day after (count > 0) or before (count < 0) ``day``."""
    step = 1 if count > 0 else -1
    remaining = abs(count)
    for _ in range(3660):
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            remaining -= 1
            if remaining == 0:
                return day
    return day


@dataclass(frozen=True)
class TemplateTask:
    key: str  # stable: a task made from it remembers it (CampaignTask.template_key)
    title: str
    due: Due


def _t(key: str, title: str, anchor: str, working_days: int = 0, at: str | None = None) -> TemplateTask:
    return TemplateTask(key, title, Due(anchor, working_days, at))


# What every format ends with: the figures, the rewards, the review (复盘).
def _closing(rewards: str) -> tuple[TemplateTask, ...]:
    return (
        _t("stats", "活动数据统计（参与人数、评论、转发、涨粉、阅读）", "end", 1, "17:30"),
        _t("review", "撰写活动复盘报告（目标完成情况、经验与改进）", "end", 3, "17:30"),
        _t("rewards", rewards, "end", 5, "17:30"),
    )


TEMPLATES: dict[str, tuple[TemplateTask, ...]] = {
    # 政策解读问答专区: answers are policy statements, so the 口径 goes to the department first.
    "qa": (
        _t("plan_final", "策划方案定稿", "start", -5, "17:30"),
        _t("answer_scope", "梳理政策要点，准备问答口径并送业务部门审核", "start", -4, "17:30"),
        _t("poster", "设计活动海报和专区入口图", "start", -3, "17:30"),
        _t("announce", "发布活动预告", "start", -1, "10:00"),
        _t("open_zone", "开通问答专区，置顶活动入口", "start"),
        _t("collect", "收集、分类网友提问（每日）", "end"),
        _t("answer", "按审定口径答复网友提问（每日）", "end"),
        _t("faq_graphic", "整理高频问题，发布政策图解", "end", 1, "17:30"),
        *_closing("评选优质提问并发放奖励"),
    ),
    "poll": (
        _t("plan_final", "策划方案定稿", "start", -5, "17:30"),
        _t("options", "拟定投票选项并送审", "start", -4, "17:30"),
        _t("poster", "设计活动海报", "start", -3, "17:30"),
        _t("anti_fraud", "设置防刷票规则（每人每日限投次数）并测试投票页面", "start", -2, "17:30"),
        _t("announce", "发布活动预告", "start", -1, "10:00"),
        _t("launch", "上线投票页面", "start"),
        _t("monitor", "每日监测投票数据，排查异常票", "end"),
        _t("moderation", "评论区控评与答复", "end"),
        _t("results", "公示投票结果", "end", 2, "10:00"),
        *_closing("发放参与奖励"),
    ),
    # 直播答疑: guests and the script are settled early; the rehearsal is the day before.
    "livestream": (
        _t("plan_final", "策划方案定稿", "start", -7, "17:30"),
        _t("guests", "邀请嘉宾，确认出镜人员和直播间", "start", -5, "17:30"),
        _t("script", "撰写直播脚本和问答口径并送审", "start", -3, "17:30"),
        _t("poster", "设计直播海报", "start", -3, "17:30"),
        _t("announce", "发布直播预告", "start", -2, "10:00"),
        _t("collect_questions", "直播前征集网友提问", "start", -1, "12:00"),
        _t("rehearsal", "直播彩排（调试设备、网络和备用推流）", "start", -1, "16:00"),
        _t("moderation", "直播控评（实时审看评论，处置不当言论）", "end"),
        _t("live_questions", "记录直播中网友提问，会后转交业务部门答复", "end"),
        _t("replay", "剪辑发布直播回放和精彩片段", "end", 1, "17:30"),
        *_closing("发放互动奖励"),
    ),
    # 知识挑战: the question bank is checked by the department that owns the policy.
    "quiz": (
        _t("plan_final", "策划方案定稿", "start", -7, "17:30"),
        _t("question_bank", "准备题库并送业务部门审核", "start", -5, "17:30"),
        _t("rules", "确定奖励规则和防作弊措施", "start", -4, "17:30"),
        _t("poster", "设计活动海报", "start", -3, "17:30"),
        _t("page_test", "搭建答题页面并测试", "start", -2, "17:30"),
        _t("announce", "发布活动预告", "start", -1, "10:00"),
        _t("daily_questions", "活动期间每日更新题目", "end"),
        _t("moderation", "评论区答疑与控评", "end"),
        _t("draw", "抽奖并公示中奖名单", "end", 2, "10:00"),
        *_closing("发放奖励"),
    ),
    "short_video": (
        _t("plan_final", "策划方案定稿", "start", -7, "17:30"),
        _t("script", "撰写脚本和分镜", "start", -5, "17:30"),
        _t("script_review", "脚本送审（核对政策表述）", "start", -4, "17:30"),
        _t("shoot", "拍摄素材", "start", -3, "17:30"),
        _t("edit", "剪辑成片、配字幕", "start", -2, "17:30"),
        _t("final_review", "成片三审三校", "start", -1, "17:30"),
        _t("announce", "发布话题预告", "start", -1, "10:00"),
        _t("publish", "多平台同步发布", "start"),
        _t("moderation", "评论区互动与控评", "end"),
        *_closing("发放互动奖励"),
    ),
}


def template_for(campaign_format: str | None) -> tuple[TemplateTask, ...]:
    """The format's checklist (empty for no format or an unknown one)."""
    return TEMPLATES.get(campaign_format or "", ())


def planned_tasks(
    campaign_format: str | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
    calendar: BusinessCalendar,
) -> list[dict[str, object]]:
    """The template's tasks for a campaign with these dates, in the template's order:
    ``{"key", "title", "due_at"}`` (due_at None where the start or end is not set yet)."""
    return [
        {"key": task.key, "title": task.title, "due_at": task.due.resolve(starts_at, ends_at, calendar)}
        for task in template_for(campaign_format)
    ]
