// Live transcription: microphone -> Web Audio -> 16 kHz float32 PCM -> WebSocket /live.
// The server needs no ffmpeg: the browser resamples to the model's rate itself (Downsampler).
export const TARGET_RATE = 16000;
const SEND_SAMPLES = 1600;            // send every 100 ms of 16 kHz audio
const FINAL_TIMEOUT_MS = 15000;       // give up waiting for the final transcript after this
const FLUSH_TIMEOUT_MS = 300;
const FILTER_HALF_WIDTH = 16;         // low-pass taps on each side, in output samples
const CUTOFF = 0.9;                   // of the output's Nyquist frequency

// Windowed-sinc low-pass and resampling for any input rate (48 kHz, 44.1 kHz, ...), streaming:
// each output sample is the filtered input around its position, so there is no aliasing and no
// click between blocks.
export class Downsampler {
  constructor(inRate, outRate = TARGET_RATE) {
    this.step = inRate / outRate;                       // input samples per output sample
    this.fc = Math.min(1, CUTOFF / this.step) / 2;      // cutoff in cycles per input sample
    this.half = Math.ceil(FILTER_HALF_WIDTH * Math.max(1, this.step));
    this.buffer = new Float32Array(0);
    this.base = 0;                                      // absolute index of buffer[0]
    this.next = 0;                                      // absolute position of the next output
  }

  kernel(x) {
    const sinc = x === 0 ? 1 : Math.sin(2 * Math.PI * this.fc * x) / (2 * Math.PI * this.fc * x);
    const hann = 0.5 + 0.5 * Math.cos(Math.PI * x / (this.half + 1));
    return 2 * this.fc * sinc * hann;
  }

  process(input) {
    if (this.step === 1) return Float32Array.from(input);
    const joined = new Float32Array(this.buffer.length + input.length);
    joined.set(this.buffer);
    joined.set(input, this.buffer.length);
    const end = this.base + joined.length;
    const out = [];
    while (Math.round(this.next) + this.half < end) {
      const centre = Math.round(this.next);
      let sum = 0;
      for (let n = centre - this.half; n <= centre + this.half; n++) {
        if (n >= this.base) sum += joined[n - this.base] * this.kernel(n - this.next);
      }
      out.push(sum);
      this.next += this.step;
    }
    const keepFrom = Math.max(this.base, Math.floor(this.next) - this.half - 1);
    this.buffer = joined.slice(keepFrom - this.base);
    this.base = keepFrom;
    return Float32Array.from(out);
  }
}

function liveUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/live`;
}

// One recording: start() asks for the microphone and opens the socket; stop() sends the rest
// and waits for the final transcript. Callbacks: onPartial, onFinal, onError, onEnd.
export class LiveRecorder {
  constructor({ decoder = "greedy", hotwords = "", onPartial, onFinal, onError, onEnd }) {
    Object.assign(this, { decoder, hotwords, onPartial, onFinal, onError, onEnd });
    this.pending = [];
    this.pendingSamples = 0;
    this.ended = false;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
               autoGainControl: false },
    });
    this.ctx = new AudioContext();
    this.downsampler = new Downsampler(this.ctx.sampleRate);
    await this.openSocket();
    await this.connectMicrophone();
  }

  openSocket() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(liveUrl());
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.finalReceived = new Promise((done) => { this.resolveFinal = done; });
      ws.onopen = () => ws.send(JSON.stringify({
        type: "start", sample_rate: TARGET_RATE, encoding: "f32",
        decoder: this.decoder, hotwords: this.hotwords,
      }));
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "ready") resolve();
        else if (message.type === "partial") this.onPartial?.(message);
        else if (message.type === "final") { this.onFinal?.(message); this.resolveFinal(); }
        else if (message.type === "error") { this.onError?.(message.error); reject(new Error(message.error)); }
      };
      ws.onerror = () => reject(new Error("the live connection failed"));
      ws.onclose = () => { this.resolveFinal(); this.abort(); };
    });
  }

  async connectMicrophone() {
    const source = this.ctx.createMediaStreamSource(this.stream);
    const silent = this.ctx.createGain();                 // keeps the graph pulled, no echo
    silent.gain.value = 0;
    silent.connect(this.ctx.destination);
    if (this.ctx.audioWorklet) {
      await this.ctx.audioWorklet.addModule("/static/pcm-worklet.js");
      this.node = new AudioWorkletNode(this.ctx, "pcm-capture");
      this.node.port.onmessage = (event) => {
        if (event.data.flushed) { this.push(event.data.flushed); this.flushed?.(); }
        else this.push(event.data);
      };
    } else {                                              // older browsers: ScriptProcessor
      this.node = this.ctx.createScriptProcessor(4096, 1, 1);
      this.node.onaudioprocess = (event) => this.push(event.inputBuffer.getChannelData(0));
    }
    source.connect(this.node);
    this.node.connect(silent);
    this.source = source;
  }

  push(samples) {
    if (this.ended) return;
    const pcm = this.downsampler.process(samples);
    if (pcm.length) {
      this.pending.push(pcm);
      this.pendingSamples += pcm.length;
    }
    if (this.pendingSamples >= SEND_SAMPLES) this.send();
  }

  send() {
    if (!this.pendingSamples || this.ws?.readyState !== WebSocket.OPEN) return;
    const frame = new Float32Array(this.pendingSamples);
    let offset = 0;
    for (const chunk of this.pending) { frame.set(chunk, offset); offset += chunk.length; }
    this.pending = [];
    this.pendingSamples = 0;
    this.ws.send(frame.buffer);
  }

  async flushWorklet() {
    if (!this.node?.port) return;
    await new Promise((resolve) => {
      this.flushed = resolve;
      this.node.port.postMessage("flush");
      setTimeout(resolve, FLUSH_TIMEOUT_MS);
    });
  }

  async stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    await this.flushWorklet();
    this.send();
    this.ended = true;
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "stop" }));
      await Promise.race([this.finalReceived,
                          new Promise((r) => setTimeout(r, FINAL_TIMEOUT_MS))]);
    }
    this.abort();
  }

  // Release everything (idempotent): microphone, audio graph, socket; then onEnd once.
  abort() {
    this.ended = true;
    this.stream?.getTracks().forEach((track) => track.stop());
    try { this.source?.disconnect(); this.node?.disconnect(); } catch (_) { /* already */ }
    if (this.ctx && this.ctx.state !== "closed") this.ctx.close();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close();
    if (!this.endReported) { this.endReported = true; this.onEnd?.(); }
  }
}
