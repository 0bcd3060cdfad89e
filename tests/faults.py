"""Fault injection for the pool's tests, outside the product: a worker that kills itself (SIGKILL)
when it starts the job named in FMI_MX_TEST_VICTIM. Spawned workers import this module by name."""
import os
import signal

from fmi_mx.sweep.pool import Worker

VICTIM_ENV = "FMI_MX_TEST_VICTIM"


class KillingWorker(Worker):
    def execute(self, batch, inputs):
        if any(job.id == os.environ.get(VICTIM_ENV) for job in batch):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().execute(batch, inputs)
