"""Survey pages on the HTTP site (server/survey_pages/web.py): /s/<token> and /s/p/<code>. On
with KOPILKA_HTTP_LISTEN; stateless, so it runs with any number of workers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.features.http import HttpMount

if TYPE_CHECKING:
    from server.api.deps import ApiDeps
    from server.plugin_host import PluginHost
    from server.settings import Settings


def surveys_mount(settings: Settings, plugins: PluginHost, deps: ApiDeps) -> HttpMount | None:
    from server.survey_pages.web import PREFIX, SurveyPages

    return HttpMount("survey pages", PREFIX + "/", SurveyPages(deps).add_routes)
