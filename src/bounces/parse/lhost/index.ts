// Registry of layout recognizers tried before the generic text recognizer.
import type { BounceContext } from '../index.js';
import type { RawRecord } from '../types.js';
import { amazonSesLayout } from './amazonses.js';
import { complaintLayout } from './complaint.js';
import { fmlLayout } from './fml.js';
import { googleGroupsLayout } from './googlegroups.js';
import { mailMarshalLayout } from './mailmarshal.js';

export interface Layout {
  name: string;
  /** the kind reported when this layout produced the records (default non-standard) */
  kind?: 'arf' | 'dsn' | 'non-standard';
  match(ctx: BounceContext): boolean;
  parse(ctx: BounceContext): RawRecord[];
}

export const LAYOUTS: Layout[] = [amazonSesLayout, complaintLayout, googleGroupsLayout, fmlLayout, mailMarshalLayout];
