"""GET /v1/detectors/backtests/{backtest_id}: a backtest job, with its result once succeeded
or its error once failed."""

from omp.api import backtest
from omp.api.backtest import BacktestJobResponse
from omp.runtime import http

route = http.Route(
    "GET",
    "/v1/detectors/backtests/{backtest_id}",
    summary="Get a backtest",
    tag="metrics",
    response=BacktestJobResponse,
)


def get_backtest(request: http.Request) -> BacktestJobResponse:
    return backtest.get_backtest(request.path["backtest_id"])


lambda_handler = http.handler(route, get_backtest)
