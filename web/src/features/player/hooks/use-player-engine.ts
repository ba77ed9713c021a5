import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { chooseEngine, detectSupport, loadEngine } from '../lib/engine';
import { labelFor, type EngineKind, type PlayerEngine, type PlayerSources, type QualityLevel } from '../lib/engine-shared';

declare global {
  interface Window {
    /** A small hook for end-to-end tests and debugging. */
    __vsPlayer?: {
      engine(): EngineKind | null;
      currentQuality(): string;
      qualities(): string[];
      selected(): string;
      setQuality(label: string): void;
    };
  }
}

/**
 * Runs the best engine for this browser on the <video> in `videoRef` and
 * exposes its quality levels, the one on screen and a way to pick one.
 * `?engine=dash|hls|native` in the page URL asks for a particular engine.
 * New sources within one mount (renewed signed URLs) resume where playback
 * was; the caller remounts it (a React key) for another video.
 */
export function usePlayerEngine(videoRef: RefObject<HTMLVideoElement>, src: PlayerSources) {
  const engineRef = useRef<PlayerEngine | null>(null);
  const [kind, setKind] = useState<EngineKind | null>(null);
  const [levels, setLevels] = useState<QualityLevel[]>([]);
  const [selected, setSelected] = useState<'auto' | number>('auto');
  const [rendered, setRendered] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { manifestUrl, hlsUrl } = src;
  const renditionsRef = useRef(src.renditions);
  renditionsRef.current = src.renditions;
  // Where playback was when the sources last changed (renewed signed URLs of
  // the same video): the next engine carries on from there.
  const resumeRef = useRef<{ time: number; playing: boolean } | null>(null);

  const computeRendered = useCallback((): string | null => {
    const video = videoRef.current;
    // What the decoder outputs is the truth; the engine's idea comes second.
    if (video && video.videoHeight > 0) return labelFor(video.videoWidth, video.videoHeight, renditionsRef.current);
    const engine = engineRef.current;
    const idx = engine?.renderedIndex();
    return engine?.levels().find((l) => l.index === idx)?.label ?? null;
  }, [videoRef]);

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return undefined;
    setError(null);
    setLevels([]);
    setSelected('auto');
    setRendered(null);
    // A new source means a new engine; renditions only affect labels, so the
    // engine gets the ones known now and a change of them alone keeps it.
    const sources: PlayerSources = { manifestUrl, hlsUrl, renditions: renditionsRef.current };
    const preferred = new URLSearchParams(window.location.search).get('engine');
    const chosen = chooseEngine(sources, detectSupport(video), preferred);
    if (!chosen) {
      setError('This browser cannot play these streams. Try a current version of Chrome, Firefox, Edge or Safari.');
      return undefined;
    }
    let cancelled = false;
    const resume = resumeRef.current;
    resumeRef.current = null;
    const onResume = () => {
      if (cancelled || !resume) return;
      video.currentTime = resume.time;
      if (resume.playing) void video.play()?.catch(() => undefined);
    };
    if (resume) video.addEventListener('loadedmetadata', onResume, { once: true });
    const refresh = () => {
      if (cancelled || !engineRef.current) return;
      setLevels(engineRef.current.levels());
      setRendered(computeRendered());
    };
    loadEngine(chosen)
      .then((factory) => {
        // A superseded run must not attach at all: its engine, destroyed
        // later, would detach the <video> from the engine that replaced it.
        if (cancelled) return;
        engineRef.current = factory(video, sources, {
          onLevels: refresh,
          onSwitch: refresh,
          onError: (m) => !cancelled && setError(m),
        });
        setKind(chosen);
        refresh();
      })
      .catch(() => !cancelled && setError('The player could not start. Reload the page to try again.'));
    video.addEventListener('resize', refresh);
    video.addEventListener('loadedmetadata', refresh);
    return () => {
      cancelled = true;
      if (video.currentTime > 0) resumeRef.current = { time: video.currentTime, playing: !video.paused && !video.ended };
      video.removeEventListener('loadedmetadata', onResume);
      video.removeEventListener('resize', refresh);
      video.removeEventListener('loadedmetadata', refresh);
      engineRef.current?.destroy();
      engineRef.current = null;
      setKind(null);
    };
  }, [manifestUrl, hlsUrl, videoRef, computeRendered]);

  const select = useCallback((value: 'auto' | number) => {
    setSelected(value);
    engineRef.current?.setLevel(value);
  }, []);

  // The debug hook reads the latest state through refs.
  const stateRef = useRef({ kind, levels, selected, rendered });
  stateRef.current = { kind, levels, selected, rendered };
  useEffect(() => {
    window.__vsPlayer = {
      engine: () => stateRef.current.kind,
      currentQuality: () => computeRendered() ?? '',
      qualities: () => stateRef.current.levels.map((l) => l.label),
      selected: () => {
        const s = stateRef.current;
        return s.selected === 'auto' ? 'auto' : (s.levels.find((l) => l.index === s.selected)?.label ?? '');
      },
      setQuality: (label: string) => {
        if (label.toLowerCase() === 'auto') return select('auto');
        const level = stateRef.current.levels.find((l) => l.label === label);
        if (level) select(level.index);
      },
    };
    return () => {
      delete window.__vsPlayer;
    };
  }, [computeRendered, select]);

  return { kind, levels, selected, rendered, error, select };
}
