"""Log to a run for a while, like a training script still running.

Started by the UI test with LABTRACK_TRACKING_URI pointing at the test
store; prints the run id, then logs `live_loss` every 0.2 s until killed
or `--seconds` pass.
"""

import sys
import time

import labtrack as lt

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
lt.set_experiment("ui-x-live")
with lt.start_run(run_name="live-run") as run:
    lt.log_param("lr", 0.5)
    print(run.info.run_id, flush=True)
    step = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lt.log_metric("live_loss", 1000 + step, step=step)
        lt.flush()
        step += 1
        time.sleep(0.2)
