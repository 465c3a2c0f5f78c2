/**
 * A metric's full history (MLflow's `metrics/get-history`, every point, in
 * pages): the source of a chart's CSV download, where the chart itself
 * shows the server's downsampled series.
 */

import { ILabtrackAPI, IMetric, IMetricSeries } from './protocol';

/** GET an MLflow route (relative to `api/2.0/mlflow/`) with a query. */
export type GetMlflow = (
  path: string,
  query: URLSearchParams
) => Promise<unknown>;

/** Points per `get-history` page. */
export const HISTORY_PAGE = 100_000;

interface IHistoryPage {
  metrics?: IMetric[];
  next_page_token?: string;
}

export function metricHistoryAPI(
  get: GetMlflow
): Pick<ILabtrackAPI, 'getMetricHistory'> {
  return {
    getMetricHistory: async (runId, key) => {
      const series: IMetricSeries = {
        run_id: runId,
        key,
        steps: [],
        timestamps: [],
        values: []
      };
      let pageToken: string | undefined;
      do {
        const query = new URLSearchParams({
          run_id: runId,
          metric_key: key,
          max_results: String(HISTORY_PAGE)
        });
        if (pageToken) {
          query.set('page_token', pageToken);
        }
        const page = (await get('metrics/get-history', query)) as IHistoryPage;
        for (const point of page.metrics ?? []) {
          series.steps.push(point.step);
          series.timestamps.push(point.timestamp);
          series.values.push(point.value);
        }
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
      return series;
    }
  };
}
