"""Spending a project's money: every provider call is held against the budget before it is made
and written to the ledger with what it really cost, in the transaction that keeps its result.

A hold that passes the project's cap is refused with ``BudgetExceeded`` before anything is
sent, so a run that reaches the cap stops between two whole takes. Free calls (the offline
providers) are written to the ledger at 0, so it lists every generation.
"""

from __future__ import annotations

from typing import Any

from studio.errors import BudgetExceeded
from studio.jobs._context import JobContext
from studio.model import Spend, SpendState
from studio.store import Tx

__all__ = ["hold", "release", "settle"]


async def hold(
    ctx: JobContext,
    project_id: str,
    *,
    usd: float,
    stage: str,
    provider: str,
    model: str,
    scene_id: str | None = None,
) -> Spend:
    """Hold ``usd`` of the project's budget for one call, or refuse with ``BudgetExceeded``."""

    def op(tx: Tx) -> Spend:
        project = tx.projects.get(project_id)
        if usd > 0 and project.budget_usd is not None:
            committed = tx.ledger.committed(project_id)
            if committed + usd > project.budget_usd + 1e-9:
                raise BudgetExceeded(
                    f"the next {stage} ({provider}, ${usd:.2f}) would pass the budget of "
                    f"{project.name!r}: ${committed:.2f} of ${project.budget_usd:.2f} is spent "
                    "or held",
                    hint="raise the project's budget, or choose a cheaper or the local provider",
                    budget_usd=project.budget_usd,
                    committed_usd=round(committed, 6),
                    next_usd=usd,
                )
        return tx.ledger.insert(
            Spend(
                project_id=project_id,
                job_id=ctx.job.id,
                scene_id=scene_id,
                stage=stage,
                provider=provider,
                model=model,
                usd=usd,
                state=SpendState.RESERVED,
            )
        )

    return await ctx.store.write(op)


def settle(tx: Tx, spend: Spend, usd: float) -> Spend:
    """In the transaction that keeps the call's result: the hold becomes the real cost."""
    return tx.ledger.settle(spend, usd)


async def release(ctx: JobContext, spend: Spend) -> Any:
    """The call failed or was cancelled before it was paid for: give the hold back."""
    return await ctx.store.write(lambda tx: tx.ledger.release(spend.id))
