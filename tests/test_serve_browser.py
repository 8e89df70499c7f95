"""The `vui serve` page in a real browser: Debian's chromium, headless, driven by Playwright.

Upload a WAV and see its transcript; record through Chromium's fake microphone (fed from a WAV
of espeak-ng speech) and see partial, then final transcripts; open the runs view and see the
curves. A screenshot of each view is saved; the folder is printed at the end of the module.
Chromium is the system one (scripts/setup.sh installs it); nothing is downloaded. Without it
the module is skipped and says why.
"""
import re
import shutil
import time

import httpx
import pytest

from test_serve import app_for, fake_run, running_server, speech_samples
from test_serve import recognizer, served_model  # noqa: F401 (the fixtures, shared)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=(
    "chromium is not installed (scripts/setup.sh installs it: apt-get install chromium)"))

PAGE_TIMEOUT_MS = 20_000        # any one wait in the page
RECORD_SECONDS = 3.0            # how long the fake microphone is recorded
FAKE_MIC_SECONDS = 6.0          # the WAV Chromium plays as the microphone (looped)
UPLOAD_SECONDS = 2.5
EXTRA_RUNS = {"BiGRU demo": ([320, 250, 210, 190, 180, 176, 170, 168, 167, 166],
                             [330, 270, 240, 225, 220, 215, 214, 216, 218, 221], 0.38, 0.81),
              "CNN+GRU": ([300, 230, 190, 170, 160, 150],
                          [310, 250, 220, 205, 199, 196], 0.45, 0.92)}


@pytest.fixture(scope="module")
def shots(tmp_path_factory, request):
    """The screenshots' folder, printed when the module is done."""
    folder = tmp_path_factory.mktemp("serve-screenshots")
    yield folder
    names = ", ".join(sorted(p.name for p in folder.glob("*.png")))
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():        # shown even when tests pass
        print(f"\nbrowser screenshots in {folder}: {names or 'none'}")


@pytest.fixture(scope="module")
def results_dir(served_model, tmp_path_factory):  # noqa: F811
    """The tiny model's run and two longer made-up runs, so the chart has curves to draw."""
    folder = tmp_path_factory.mktemp("browser-results")
    for suffix in (".json", ".pickle"):
        shutil.copy(served_model.with_suffix(suffix), folder)
    for name, (loss, val_loss, cer, wer) in EXTRA_RUNS.items():
        fake_run(folder, name, loss, val_loss, cer=cer, wer=wer)
    return folder


@pytest.fixture(scope="module")
def server(recognizer, results_dir):  # noqa: F811
    app = app_for(recognizer, results_dir)
    with running_server(app) as url:
        assert app.state.engine.wait(60)
        yield url


@pytest.fixture(scope="module")
def clips(speech_corpus, tmp_path_factory):
    import soundfile
    folder = tmp_path_factory.mktemp("browser-audio")
    paths = {"upload": folder / "upload.wav", "mic": folder / "mic.wav"}
    for key, seconds in (("upload", UPLOAD_SECONDS), ("mic", FAKE_MIC_SECONDS)):
        soundfile.write(paths[key], speech_samples(speech_corpus, seconds), 16000,
                        subtype="PCM_16")
    return paths


@pytest.fixture(scope="module")
def browser(clips):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, timeout=PAGE_TIMEOUT_MS,
            args=["--no-sandbox",                         # root in CI containers
                  "--use-fake-ui-for-media-stream",       # grant the microphone, no prompt
                  "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={clips['mic']}",
                  "--autoplay-policy=no-user-gesture-required"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.grant_permissions(["microphone"], origin=server)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server + "/")
    page.wait_for_selector("#upload:enabled")              # the model is ready
    yield page
    context.close()
    assert errors == [], errors


def test_uploading_a_wav_shows_its_words_shaded_with_times(page, server, clips, shots):
    page.set_input_files("#file", str(clips["upload"]))
    page.click("#upload")
    page.wait_for_selector("#transcript[data-state=done]")
    expected = httpx.post(server + "/transcribe", timeout=30, files={
        "file": ("upload.wav", clips["upload"].read_bytes())}).json()
    words = page.locator("#transcript .word")
    assert page.get_attribute("#transcript", "data-text") == expected["transcript"] != ""
    assert words.count() == len(expected["words"])
    first = expected["words"][0]
    title = words.first.get_attribute("title")
    assert title == (f"{first['start']:.2f}–{first['end']:.2f} s · confidence "
                     f"{first['confidence']:.2f}")
    words.first.hover()
    shades = {words.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
              for i in range(words.count())}
    assert all(s.startswith("rgba(245, 140, 30") for s in shades)   # shaded by confidence
    assert "2.50 s of audio" in page.text_content("#details")
    page.screenshot(path=shots / "transcribe-upload.png", full_page=True)


def test_recording_shows_partial_then_final_transcripts(page, shots):
    page.click("#record")
    page.wait_for_selector("#record.recording")            # microphone and socket open
    started = time.monotonic()
    page.wait_for_function("Number(document.querySelector('#transcript').dataset.partials) >= 2")
    assert page.get_attribute("#transcript", "data-state") == "partial"
    page.screenshot(path=shots / "live-partial.png", full_page=True)
    time.sleep(max(0.0, RECORD_SECONDS - (time.monotonic() - started)))
    page.click("#record")
    recorded = time.monotonic() - started
    page.wait_for_selector("#transcript[data-state=final]")
    page.wait_for_selector("#record:not(.recording):enabled")
    details = page.text_content("#details")
    heard = float(re.search(r"([\d.]+) s of audio", details).group(1))
    # 16 kHz as labelled: audio sent at the capture rate (48 kHz) would count 3x too long, at
    # a third of it 3x too short; a busy machine's audio thread may lag or drop some, not 3x
    assert 0.4 * recorded < heard < 2 * recorded + 0.3, (heard, recorded)
    assert page.locator("#transcript .word").count() > 0
    assert "after you stopped" in page.text_content("#status")
    page.screenshot(path=shots / "live-final.png", full_page=True)


def test_the_runs_view_draws_each_runs_curves_and_table(page, shots):
    page.click("#tab-runs")
    page.wait_for_selector("#runs-table tbody tr >> nth=2")
    runs = 1 + len(EXTRA_RUNS)
    assert page.locator("#runs-chart path.curve.train").count() == runs
    assert page.locator("#runs-chart path.curve.val").count() == runs
    dashes = page.locator("#runs-chart path.curve.train").first.evaluate(
        "e => getComputedStyle(e).strokeDasharray")
    solid = page.locator("#runs-chart path.curve.val").first.evaluate(
        "e => getComputedStyle(e).strokeDasharray")
    assert dashes not in ("none", "") and solid in ("none", "")
    longest = page.locator("#runs-chart path.curve.val[data-run='BiGRU demo']")
    assert longest.get_attribute("d").count("L") == 9      # 10 epochs: 9 segments
    table = page.text_content("#runs-table")
    assert "BiGRU demo" in table and "38.0%" in table and "81.0%" in table
    page.screenshot(path=shots / "runs.png", full_page=True)
    page.get_by_label("show CNN+GRU").uncheck()               # pick runs
    assert page.locator("#runs-chart path.curve").count() == 2 * (runs - 1)
    assert page.locator("#runs-chart path.curve[data-run='CNN+GRU']").count() == 0


def test_the_page_downsamples_to_16k_keeping_speech_and_dropping_aliases(page):
    """live.js's Downsampler, run in the browser on 48 and 44.1 kHz tones, fed in blocks."""
    result = page.evaluate("""async () => {
        const { Downsampler } = await import("/static/live.js");
        const out = {};
        for (const rate of [48000, 44100]) {
          for (const freq of [440, 3000, 12000]) {
            const d = new Downsampler(rate, 16000);
            const input = Float32Array.from({ length: rate }, (_, i) => Math.sin(2 * Math.PI * freq * i / rate));
            const parts = [];
            for (let i = 0; i < input.length; i += 2048) parts.push(...d.process(input.subarray(i, i + 2048)));
            const steady = parts.slice(1000, parts.length - 1000);
            out[`${rate}/${freq}`] = { n: parts.length, peak: Math.max(...steady.map(Math.abs)) };
          }
        }
        return out;
    }""")
    for key, got in result.items():
        rate, freq = map(int, key.split("/"))
        assert abs(got["n"] - 16000) <= 64, (key, got)             # one second at 16 kHz
        if freq < 7000:
            assert 0.9 < got["peak"] < 1.1, (key, got)             # speech band kept
        else:
            assert got["peak"] < 0.05, (key, got)                  # would alias to 4 kHz
