"""POST /v1/detectors/backtest: run the platform's detector causally over a stored series range
and score it against labelled windows (NAB rules), to tune sensitivity. At most 20,000 points
(413 BACKTEST_TOO_LARGE)."""

from omp.api import backtest
from omp.api.backtest import BacktestRequest, BacktestResponse
from omp.runtime import http

route = http.Route(
    "POST",
    "/v1/detectors/backtest",
    summary="Backtest the anomaly detector on a stored series",
    tag="metrics",
    body=BacktestRequest,
    response=BacktestResponse,
)


def backtest_detector(request: http.Request) -> BacktestResponse:
    return backtest.run_backtest(request.body_as(BacktestRequest))


lambda_handler = http.handler(route, backtest_detector)
