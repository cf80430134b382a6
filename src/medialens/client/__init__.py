"""medialens' Python client: sync (``Client``) and async (``AsyncClient``) on httpx, typed results.

from medialens.client import Client

with Client("http://127.0.0.1:8000", "AppId:Token") as ml:
    ml.analyze("image_quality", "photo.jpg").score           # an ImageQuality
    job = ml.submit("video_quality", "https://example.com/clip.mp4")
    ml.wait(job, on_progress=lambda j: print(j.state_name, j.message)).result.score
    for job in ml.jobs(state=3):                             # every failed job, a page at a time
        print(job.id, job.message)
"""

from medialens.client._async import AsyncClient
from medialens.client._common import Credentials, Job, JobFailed, JobTimeout, MedialensError, Task
from medialens.client._sync import Client

__all__ = ["AsyncClient", "Client", "Credentials", "Job", "JobFailed", "JobTimeout", "MedialensError", "Task"]
