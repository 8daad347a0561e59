"""
The Mluv.Me load test as a Locust team writes it: the seed's MluvMeUser with its weighted tasks
(process_voice_message 10, get_user_stats 3, get_user_profile 2, get_saved_words 2,
get_streak_calendar 1), for the bundled demo's API. A plain locustfile: Locust runs it on its own
(`locust -f scenarios/mluvme/locustfile.py --host http://127.0.0.1:8000`), and loadlens runs it
with its probes, diagnosis and gate:

    npx loadlens demo --locust                       # against the bundled demo target
    npx loadlens locust scenarios/mluvme/locustfile.py -u 10 -r 2 -t 2m --host http://127.0.0.1:8000

Test data as the seed asks: a tiny valid WAV made in code, a unique telegram_id per simulated
user, random user settings, a set of Czech phrases. The whole voice flow (upload, polls until
the correction is ready) is also reported as one request of type FLOW, Locust's way of timing
a flow, so its end-to-end time has a row of its own.
"""
import itertools
import math
import os
import random
import struct
import time

from locust import HttpUser, between, task

CZECH_PHRASES = [
    "Dobrý den, jak se máte?",
    "Chtěl bych si objednat kávu s mlékem.",
    "Kde je hlavní nádraží?",
    "Mám rád českou kuchyni, hlavně svíčkovou.",
    "Zítra jedu vlakem do Brna.",
    "Můžete mi prosím pomoct?",
    "Učím se česky už dva roky.",
    "Kolik stojí jízdenka do Prahy?",
    "V sobotu půjdeme na procházku do parku.",
    "Promiňte, nerozumím vám.",
    "Potřebuji koupit chleba a máslo.",
    "Jaké je dnes počasí?",
    "Dal bych si jedno pivo, prosím.",
    "Kdy otevírá lékárna?",
    "Na víkend jedeme na chatu.",
    "Mohl byste mluvit trochu pomaleji?",
]
LEVELS = ["A1", "A2", "B1", "B2", "C1"]
CORRECTION_STYLES = ["gentle", "balanced", "strict"]
NATIVE_LANGUAGES = ["en", "ru", "uk", "de", "pl", "vi"]

VOICE_FLOW = "voice message end-to-end"
POLL_INTERVAL_S = 0.25
JOB_DEADLINE_S = 30
DONE = ("done", "completed", "SUCCESS")
FAILED = ("failed", "error", "FAILURE")


def make_wav(seconds=0.25, rate=8000, tone=440):
    """A valid 16-bit mono PCM WAV of a short tone."""
    samples = int(seconds * rate)
    data = b"".join(struct.pack("<h", int(math.sin(2 * math.pi * tone * i / rate) * 8000)) for i in range(samples))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + b"data" + struct.pack("<I", len(data)) + data


VOICE_WAV = make_wav()
# unique within this run and across runs: a per-process base from the clock, then a counter
_ids = itertools.count(int(time.time() * 1000) % 10**9 * 1000 + os.getpid() % 1000)


class MluvMeUser(HttpUser):
    wait_time = between(0.3, 1.2)
    host = "http://127.0.0.1:8000"

    def on_start(self):
        self.telegram_id = next(_ids)
        body = {
            "telegram_id": self.telegram_id,
            "username": f"locust_{self.telegram_id}",
            "first_name": "Load",
            "level": random.choice(LEVELS),
            "correction_style": random.choice(CORRECTION_STYLES),
            "native_language": random.choice(NATIVE_LANGUAGES),
        }
        with self.client.post("/api/v1/users", json=body, catch_response=True) as res:
            if res.status_code not in (200, 201):
                res.failure(f"registration: HTTP {res.status_code}")
                raise RuntimeError(f"registration failed: HTTP {res.status_code}")
            self.user_id = res.json()["id"]

    @task(10)
    def process_voice_message(self):
        start = time.perf_counter()
        error = None
        try:
            error = self._voice_flow()
        except Exception as e:  # a task that raised is a failed flow too
            error = e
            raise
        finally:
            self.environment.events.request.fire(
                request_type="FLOW", name=VOICE_FLOW, response_time=(time.perf_counter() - start) * 1000,
                response_length=0, response=None, context={}, exception=error,
            )

    def _voice_flow(self):
        files = {"audio": ("voice.wav", VOICE_WAV, "audio/wav")}
        data = {"user_id": str(self.user_id), "text_hint": random.choice(CZECH_PHRASES)}
        with self.client.post("/api/v1/voice/process", data=data, files=files, catch_response=True) as res:
            if res.status_code not in (200, 201, 202):
                res.failure(f"HTTP {res.status_code}")
                return RuntimeError(f"upload: HTTP {res.status_code}")
            job_id = (res.json() or {}).get("job_id")
            if not job_id:
                res.failure("no job id in the answer")
                return RuntimeError("no job id")
        deadline = time.time() + JOB_DEADLINE_S
        status = "none"
        while True:
            time.sleep(POLL_INTERVAL_S)
            res = self.client.get(f"/api/v1/voice/jobs/{job_id}", name="/api/v1/voice/jobs/[id]")
            if res.ok:
                body = res.json()
                status = str(body.get("status"))
                if status in DONE:
                    return None if (body.get("corrected") or body.get("result")) is not None else RuntimeError("no correction in the finished job")
                if status in FAILED:
                    return RuntimeError(f"job {status}")
            if time.time() > deadline:
                return RuntimeError(f"voice job not done after {JOB_DEADLINE_S} s (last status: {status})")

    @task(3)
    def get_user_stats(self):
        self.client.get(f"/api/v1/users/{self.user_id}/stats", name="/api/v1/users/[id]/stats")

    @task(2)
    def get_user_profile(self):
        self.client.get(f"/api/v1/users/{self.user_id}", name="/api/v1/users/[id]")

    @task(2)
    def get_saved_words(self):
        self.client.get(f"/api/v1/users/{self.user_id}/saved-words", name="/api/v1/users/[id]/saved-words")

    @task(1)
    def get_streak_calendar(self):
        self.client.get(f"/api/v1/users/{self.user_id}/streak-calendar", name="/api/v1/users/[id]/streak-calendar")
