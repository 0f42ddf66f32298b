// Registry of layout recognizers tried before the generic text recognizer.
import type { BounceContext } from '../index.js';
import type { RawRecord } from '../types.js';
import { amazonSesLayout } from './amazonses.js';
import { complaintLayout } from './complaint.js';
import { googleGroupsLayout } from './googlegroups.js';

export interface Layout {
  name: string;
  /** the kind reported when this layout produced the records (default non-standard) */
  kind?: 'arf' | 'dsn' | 'non-standard';
  match(ctx: BounceContext): boolean;
  parse(ctx: BounceContext): RawRecord[];
}

export const LAYOUTS: Layout[] = [amazonSesLayout, complaintLayout, googleGroupsLayout];
