from __future__ import annotations

from fastapi import FastAPI

from planeco_diagnostic.campaigns.router import router as campaigns_router
from planeco_diagnostic.contacts.router import router as contacts_router
from planeco_diagnostic.invitations.router import answer_router
from planeco_diagnostic.invitations.router import router as invitations_router
from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.mailings.router import router as mailings_router
from planeco_diagnostic.outbox.router import router as outbox_router
from planeco_diagnostic.questionnaires.router import router as questionnaires_router
from planeco_diagnostic.response_imports.router import router as response_imports_router
from planeco_diagnostic.responses.router import answer_router as answer_responses_router
from planeco_diagnostic.responses.router import router as responses_router
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_diagnostic.syntheses.router import public_router as public_syntheses_router
from planeco_diagnostic.syntheses.router import router as syntheses_router
from planeco_shared.app_factory import create_service_app


def create_app(settings: DiagnosticSettings | None = None) -> FastAPI:
    return create_service_app(
        name="diagnostic",
        title="planeco diagnostic",
        description="Questionnaire templates, campaigns, invitations, responses, response rates, syntheses.",
        settings=settings or DiagnosticSettings(),
        tags={
            "questionnaires": "The questionnaire templates of the diagnostic (national, a région's or a "
            "département's): their documents, editions and lock, and the document's JSON Schema.",
            "campaigns": "Campaigns: a questionnaire sent to the collectivités of a région or a département, "
            "and the invitees it names.",
            "contacts": "The people the diagnostic writes to, per collectivité (personal data: read only by "
            "those in charge of their territory); CSV and XLSX import and export.",
            "outbox": "The e-mails the diagnostic sends (invitations, reminders) and where each stands: "
            "queued, sent, failed with the reason.",
            "invitations": "Invitation tokens of a campaign's invitees, and what a token opens "
            "(`X-Invitation-Token`, no account needed).",
            "responses": "Responses of the invitees: drafts saved in parts, submission, reopening; by "
            "invitation token or by the collectivité's contributors.",
            "syntheses": "What the submitted responses of a campaign say: per lever and action item, by "
            "type and département, families, the distance to objectives, publication as open data "
            "(figures on fewer than 3 respondents suppressed), exports, comparison of two campaigns.",
        },
        jobs=JOBS,
        routers=[
            questionnaires_router,
            campaigns_router,
            invitations_router,
            answer_router,
            mailings_router,
            response_imports_router,
            responses_router,
            answer_responses_router,
            contacts_router,
            outbox_router,
            syntheses_router,
            public_syntheses_router,
        ],
    )
