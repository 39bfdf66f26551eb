"""POST /v1/detectors/backtest: queue a backtest of the platform's detector over a stored series
range, scored against labelled windows (NAB rules), to tune sensitivity. 202 with the job;
`run-backtest` runs it, `GET /v1/detectors/backtests/{backtest_id}` reads it."""

from omp.api import backtest
from omp.api.backtest import BacktestJobResponse, BacktestRequest
from omp.runtime import http

route = http.Route(
    "POST",
    "/v1/detectors/backtest",
    summary="Queue a backtest of the anomaly detector on a stored series",
    tag="metrics",
    status=202,
    body=BacktestRequest,
    response=BacktestJobResponse,
    idempotent=True,
)


def backtest_detector(request: http.Request) -> BacktestJobResponse:
    return backtest.start_backtest(request.body_as(BacktestRequest), request.actor)


lambda_handler = http.handler(route, backtest_detector)
