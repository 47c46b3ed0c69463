"""舆情预警 early warning: comments grouped into topics as they arrive, surges detected against
each topic's own baseline, alerts that notify, are acknowledged and escalate (docs/warning.md)."""
