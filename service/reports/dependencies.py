from typing import Annotated

from fastapi import Depends, Path

from documents import Report
from service.ids import object_id_or_404
from service.reports import service as reports


async def report_or_404(report_id: Annotated[str, Path(description="Report id")]) -> Report:
    return await reports.get(object_id_or_404(report_id, "Report"))


ReportDep = Annotated[Report, Depends(report_or_404)]
