// The Formwarden bench server's entry, started the way `formwarden serve` starts (src/cli/main.ts): the heap
// settings first (src/util/heap.ts), then the server's modules, loaded only now, as serve loads them, so the
// young generation has not grown on them beforehand. The server itself: formwarden-instance.ts.
import { leanHeap } from '../../src/util/heap.js';

leanHeap();
await import('./formwarden-instance.js');
