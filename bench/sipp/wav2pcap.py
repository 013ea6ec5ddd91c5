#!/usr/bin/env python3
"""Turn a WAV file into a pcap of G.711 u-law RTP for SIPp's <exec play_pcap_audio>.

    wav2pcap.py IN.wav OUT.pcap [--lead-ms 1500] [--repeat 1] [--gap-ms 2000]

IN.wav: PCM 16-bit, mono or stereo (left channel used), any sample rate; it is resampled to
8 kHz. The pcap holds one RTP stream (PT 0, 160-byte payloads, one packet per 20 ms, seq +1,
timestamp +160, one SSRC) inside Ethernet/IPv4/UDP frames. SIPp replaces the addresses and ports
with the call's, so the ones written here do not matter. Only the Python standard library is used.
"""
import argparse
import math
import struct
import sys
import wave

RATE = 8000
FRAME = 160  # samples per 20 ms
PT_PCMU = 0
SSRC = 0x43504C54  # "CPLT"


def read_wav(path):
    with wave.open(path, 'rb') as w:
        if w.getsampwidth() != 2:
            sys.exit(f'{path}: need 16-bit PCM, got {8 * w.getsampwidth()}-bit')
        channels, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    samples = struct.unpack(f'<{len(raw) // 2}h', raw)
    return list(samples[::channels]), rate


def resample(samples, rate):
    """Windowed-sinc low-pass at the lower Nyquist plus interpolation: good enough for load tests."""
    if rate == RATE:
        return samples
    ratio = RATE / rate
    cutoff = min(1.0, ratio) * 0.9
    half = 16
    out = []
    n_out = int(len(samples) * ratio)
    for i in range(n_out):
        center = i / ratio
        left = int(math.floor(center)) - half
        acc = 0.0
        norm = 0.0
        for j in range(left, left + 2 * half + 1):
            if j < 0 or j >= len(samples):
                continue
            x = (j - center) * cutoff
            sinc = 1.0 if x == 0 else math.sin(math.pi * x) / (math.pi * x)
            window = 0.5 + 0.5 * math.cos(math.pi * (j - center) / (half + 1))
            weight = sinc * window
            acc += samples[j] * weight
            norm += weight
        out.append(int(max(-32768, min(32767, round(acc / norm if norm else 0)))))
    return out


def ulaw(sample):
    """ITU-T G.711 mu-law encoding of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, clip) + bias
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not (sample & mask):
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def checksum(data):
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) + data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ethernet_frame(payload, port=6000):
    udp = struct.pack('>HHHH', port, port, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                               bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))
    struct.pack_into('>H', ip, 10, checksum(ip))
    return b'\x00' * 12 + b'\x08\x00' + bytes(ip) + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('wav')
    ap.add_argument('pcap')
    ap.add_argument('--lead-ms', type=int, default=1500, help='silence before the speech (the greeting plays meanwhile)')
    ap.add_argument('--repeat', type=int, default=1, help='how many times the speech is said')
    ap.add_argument('--gap-ms', type=int, default=2000, help='silence between repeats and after the last one')
    args = ap.parse_args()

    speech, rate = read_wav(args.wav)
    speech = [ulaw(s) for s in resample(speech, rate)]
    silence = lambda ms: [0xFF] * (RATE * ms // 1000)  # u-law 0xFF is digital silence
    audio = silence(args.lead_ms)
    for _ in range(args.repeat):
        audio += speech + silence(args.gap_ms)
    audio += [0xFF] * ((-len(audio)) % FRAME)

    with open(args.pcap, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # pcap, linktype Ethernet
        for n in range(len(audio) // FRAME):
            rtp = struct.pack('>BBHII', 0x80, PT_PCMU, n & 0xFFFF, (n * FRAME) & 0xFFFFFFFF, SSRC)
            frame = ethernet_frame(rtp + bytes(audio[n * FRAME:(n + 1) * FRAME]))
            usec = n * 20000
            f.write(struct.pack('<IIII', usec // 1000000, usec % 1000000, len(frame), len(frame)))
            f.write(frame)
    print(f'{args.pcap}: {len(audio) // FRAME} packets, {len(audio) / RATE:.1f} s')


if __name__ == '__main__':
    main()
