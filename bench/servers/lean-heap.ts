// Imported first by the Formwarden bench servers (ES modules run their imports in order): the heap settings
// `formwarden serve` applies before its modules load (src/util/heap.ts, src/cli/main.ts).
import { leanHeap } from '../../src/util/heap.js';

leanHeap();
