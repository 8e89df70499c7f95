// AudioWorklet: hands the microphone's first channel to the page in blocks of BLOCK samples
// (the audio thread delivers 128 at a time; fewer, larger messages are cheaper to post).
const BLOCK = 2048;

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
    // "flush": send what the current block holds (the page asks when recording stops)
    this.port.onmessage = (event) => {
      if (event.data === "flush") {
        this.port.postMessage({ flushed: this.block.slice(0, this.filled) });
        this.filled = 0;
      }
    };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      let offset = 0;
      while (offset < channel.length) {
        const n = Math.min(channel.length - offset, BLOCK - this.filled);
        this.block.set(channel.subarray(offset, offset + n), this.filled);
        this.filled += n;
        offset += n;
        if (this.filled === BLOCK) {
          this.port.postMessage(this.block.slice(0));
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
