"""The default questionnaire, loaded from the file the service ships (`default_questionnaire_path`).

Idempotent: the first run imports it as a national questionnaire and publishes it (edition 1, locked:
campaigns can use it as is); a run with the same file changes nothing (its content hash is stored);
a changed file becomes a new published edition of the same lineage. Every run is recorded in job_runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from planeco_diagnostic.questionnaires import service
from planeco_diagnostic.questionnaires.document import content_hash, item_count, json_path, parse_document
from planeco_diagnostic.questionnaires.models import QuestionnaireStatus
from planeco_diagnostic.questionnaires.repository import QuestionnaireRepository
from planeco_diagnostic.questionnaires.schemas import QuestionnaireUpdate
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.jobs import JobContext
from planeco_shared.problems import Conflict, UnprocessableEntity

SOURCE = "default-questionnaire"


def _path_of(context: JobContext) -> Path:
    settings = context.runtime.settings
    assert isinstance(settings, DiagnosticSettings)
    return settings.default_questionnaire_path


async def import_default_questionnaire_job(context: JobContext) -> Mapping[str, int]:
    path = _path_of(context)
    try:
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise UnprocessableEntity(
            f"The default questionnaire {path} cannot be read: {error.strerror}"
        ) from None
    try:
        document = parse_document(content, prefix=())
    except UnprocessableEntity as error:
        for field_error in error.errors or ():
            context.error(
                field_error.msg, item=json_path(field_error.loc) or "document", type=field_error.type
            )
        raise UnprocessableEntity(f"The default questionnaire {path} is invalid; nothing imported") from None
    digest = content_hash(document)
    levers = context.runtime.levers
    async with context.transaction() as session:
        repository = QuestionnaireRepository(session)
        latest = await repository.latest_from_source(SOURCE)
        if latest is not None and latest.content_hash == digest:
            context.count("unchanged")
            context.message = f"default questionnaire unchanged (edition {latest.edition}, {latest.id})"
            return {}
        try:
            if latest is None:
                questionnaire = await service.import_document(
                    session,
                    document,
                    owner=None,
                    principal=context.principal,
                    levers=levers,
                    source=SOURCE,
                    prefix=(),
                )
                context.count("created")
            elif latest.locked_at is None:
                # A draft edition of the shipped content, never published: its content is replaced.
                questionnaire = await service.replace_document(
                    session, latest, document, principal=context.principal, levers=levers, prefix=()
                )
                context.count("draft_replaced")
            else:
                newest = await repository.latest_edition(latest.lineage_id)
                if newest is not None and newest.id != latest.id and newest.locked_at is None:
                    raise Conflict(
                        "The default questionnaire's lineage ends with a draft made by hand (edition "
                        f"{newest.edition}, {newest.id}): publish it (restored first if archived) before "
                        "loading a changed file"
                    )
                questionnaire = await service.new_edition(
                    session,
                    newest or latest,
                    principal=context.principal,
                    document=document,
                    levers=levers,
                    source=SOURCE,
                )
                context.count("new_edition")
        except UnprocessableEntity as error:
            for field_error in error.errors or ():
                context.error(field_error.msg, item=json_path(field_error.loc), type=field_error.type)
            raise UnprocessableEntity(
                f"The default questionnaire {path} names levers it cannot use"
            ) from None
        await service.update_questionnaire(
            session,
            questionnaire,
            data=QuestionnaireUpdate(status=QuestionnaireStatus.published),
            principal=context.principal,
        )
        context.count("items", item_count(document))
        context.message = (
            f"default questionnaire edition {questionnaire.edition} published ({questionnaire.id}): "
            f"{len(document.sections)} sections, {item_count(document)} items"
        )
    return {}
