// Runs on the audio thread: turns microphone audio at the context's rate into 20 ms frames of 16-bit PCM at
// the target rate and posts each frame's bytes to the page. Downsampling averages the input samples that fall
// into each output sample (integrate-and-dump), which is a crude but adequate anti-aliasing filter for speech.
class MicCaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const targetRate = options.processorOptions.targetRate;
    this.step = sampleRate / targetRate;
    this.frameSamples = Math.round(targetRate / 50);
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.phase = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];
      this.count++;
      this.phase += 1;
      if (this.phase >= this.step) {
        this.phase -= this.step;
        const value = this.sum / this.count;
        this.sum = 0;
        this.count = 0;
        const clamped = value > 1 ? 1 : value < -1 ? -1 : value;
        this.frame[this.filled++] = Math.round(clamped * 32767);
        if (this.filled === this.frameSamples) {
          // Int16Array bytes are little-endian on every platform browsers run on, as L16 here requires.
          const bytes = this.frame.buffer.slice(0);
          this.port.postMessage(bytes, [bytes]);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('mic-capture', MicCaptureProcessor);
