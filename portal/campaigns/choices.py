"""What a campaign counts: the figures of its goals and metric snapshots, per platform."""

from portal.core.choices import Choices
from portal.i18n import lazy_gettext as _l

METRICS = Choices(
    ("participants", _l("Participants (figure)")),
    ("comments", _l("Comments (figure)")),
    ("shares", _l("Shares (figure)")),
    ("new_followers", _l("New followers (figure)")),
    ("reads", _l("Reads (figure)")),
)


def _install_template_global() -> None:
    """The card form and drawer (board-generic templates including the kind's partials) read
    ``campaign_metrics``; registered here, where campaigns live."""
    from portal.core.templating import environment

    environment().globals.update(campaign_metrics=METRICS)


_install_template_global()
