/**
 * The manifest a trained adapter carries (ADAPTER.manifest.json): what it was trained on and how.
 * Its own module, so that training (trainLora.ts) and the check before use (adapters.ts) share it
 * without importing each other.
 */
import { DirectionMode } from '../core/pipelines/answerSpace';
import { TrainingSelection } from '../core/training/trainingSet';

export const adapterManifestPath = (adapter: string): string =>
  adapter.replace(/\.gguf$/i, '') + '.manifest.json';

export interface TrainHyper {
  epochs: number;
  rank: number;
  alpha: number;
  /** `top-N` (the N blocks nearest the output) or `all`. */
  layers: string;
  lr: number;
  batchSize: number;
  maxExamples?: number;
  maxSteps?: number;
  seed: number;
}

export interface AdapterManifest {
  kind: 'relation-lens-lora';
  version: 1;
  created: string;
  adapter: string;
  /** The command line that trained it (train-lora records its own). */
  command?: string;
  base: { path: string; size: number; sha256: string; chatTemplate: string };
  relationSet: { name: string; sha256: string; labels: string[]; noRelation: string | null };
  template: { name: string; sha256: string };
  answers: 'names' | 'codes';
  direction: DirectionMode;
  rag: { index: string; k: number } | null;
  /** Document-level training (LMRC): pairs per prompt, None allowed, pairs that fit no prompt. */
  document?: { k: number; none: boolean; unfit: number };
  data: {
    file: string;
    sha256: string;
    examples: number;
    promptTokensMean: number;
  } & TrainingSelection['counts'] & { sampled: number };
  dev: {
    file: string;
    examples: number;
    /** Dev loss and accuracy after training (absent when the run was stopped early). */
    loss?: number;
    accuracy?: number;
    /** Ids of the training file's records held out of training (the before/after comparison's records). */
    heldOut?: string[];
  } | null;
  hyper: TrainHyper;
  training: {
    steps: number;
    seconds: number;
    examplesPerSecond: number;
    peakRssMb?: number;
    /** Where it trained (`cpu`, or the GPU's name) and the GPU memory it took at most. */
    device?: string;
    peakGpuMb?: number;
    stopped: boolean;
    lossCurve: Array<[number, number]>;
    resumedFrom: string | null;
  };
}
