// Type-level guard (checked by tsc, a no-op at run time): the server's parsed
// form config must stay assignable to the view the relay checks read.
import { describe, it, expectTypeOf } from 'vitest';
import type { FormConfig } from '../config/schema.js';
import type { RelayFormView } from './types.js';

describe('config compatibility', () => {
  it('FormConfig is assignable to RelayFormView', () => {
    expectTypeOf<FormConfig>().toExtend<RelayFormView>();
  });
});
