/* Compiled loops of the vector engine's visited set (checker/explore/visited.py) and of its
   edge store (edges.py: segment_any, the compaction's and the fixpoint's inner loop).

   Each function is the same computation as a numpy function of visited.py or edges.py,
   which stays as the reference (tests/checker/explore/test_kernels.py compares them) and
   as the fallback where this module was not built. Arrays come in through the buffer
   protocol (numpy is not needed to build this); the caller allocates every output. The
   loops release the GIL, so the engine's lookup thread and its main thread run them at
   once on two cores. Nothing here knows about DNS. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* visited.py's _mix: the splitmix64 finaliser of key + seed's constant */
static inline uint64_t mix(uint64_t x, uint64_t seed) {
    x += 0x9E3779B97F4A7C15ULL * (seed + 1);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* The buffers a call holds, released together. (model/derived/_kernels.c has the same
   helpers: the engine and the model are built as two extensions that may not depend on each
   other.) */
#define NBUF 12

typedef struct { Py_buffer b[NBUF]; int n; } Buffers;

static void release(Buffers *bs) {
    for (int i = 0; i < bs->n; i++) PyBuffer_Release(&bs->b[i]);
    bs->n = 0;
}

/* The next buffer of ``bs``: C-contiguous, items of one of the two sizes. */
static Py_buffer *take(Buffers *bs, PyObject *o, int writable, Py_ssize_t size1,
                       Py_ssize_t size2, const char *what) {
    Py_buffer *b = &bs->b[bs->n];
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                           (writable ? PyBUF_WRITABLE : 0)) < 0)
        return NULL;
    bs->n++;
    if (b->itemsize != size1 && b->itemsize != size2) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes", what, b->itemsize);
        return NULL;
    }
    return b;
}

static inline int64_t get_index(const void *a, Py_ssize_t itemsize, Py_ssize_t i) {
    return itemsize == 4 ? ((const int32_t *)a)[i] : ((const int64_t *)a)[i];
}

PyDoc_STRVAR(first_unique_doc,
"first_unique(keys, uniq, first, inv) -> count\n\n"
"visited.first_unique: writes the distinct int64 keys in order of first occurrence to\n"
"uniq[:count], the index of each one's first occurrence to first[:count] and each key's\n"
"rank to inv (int32 or int64); keys has fewer than 2**31 items.");

static PyObject *first_unique(PyObject *self, PyObject *args) {
    PyObject *ok, *ou, *of, *oi;
    if (!PyArg_ParseTuple(args, "OOOO", &ok, &ou, &of, &oi)) return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bk = take(&bs, ok, 0, 8, 8, "keys"), *bu = bk ? take(&bs, ou, 1, 8, 8, "uniq") : NULL;
    Py_buffer *bf = bu ? take(&bs, of, 1, 8, 8, "first") : NULL;
    Py_buffer *bi = bf ? take(&bs, oi, 1, 4, 8, "inv") : NULL;
    if (!bi) { release(&bs); return NULL; }
    Py_ssize_t n = bk->len / 8;
    if (n >= INT32_MAX || bu->len / 8 < n || bf->len / 8 < n || bi->len / bi->itemsize < n) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "first_unique: outputs too short or input too long");
        return NULL;
    }
    const int64_t *keys = bk->buf;
    int64_t *uniq = bu->buf, *first = bf->buf;
    int32_t *inv32 = bi->itemsize == 4 ? bi->buf : NULL;
    int64_t *inv64 = bi->itemsize == 8 ? bi->buf : NULL;
    int bits = 4;
    while (((Py_ssize_t)1 << bits) < 2 * n) bits++;
    size_t mask = ((size_t)1 << bits) - 1;
    int32_t *table = malloc(((size_t)1 << bits) * sizeof(int32_t));
    if (!table) { release(&bs); return PyErr_NoMemory(); }
    int64_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    memset(table, 0xff, ((size_t)1 << bits) * sizeof(int32_t));
    /* each key's slot is computed D keys ahead and its cache line prefetched: the table's
       misses overlap instead of following one another */
    enum { D = 32 };
    size_t ring[D];
    for (Py_ssize_t j = 0; j < D && j < n; j++) {
        ring[j] = mix((uint64_t)keys[j], 3) >> (64 - bits);
        __builtin_prefetch(&table[ring[j]], 1);
    }
    for (Py_ssize_t j = 0; j < n; j++) {
        int64_t k = keys[j];
        size_t p = ring[j % D];
        if (j + D < n) {
            size_t q = mix((uint64_t)keys[j + D], 3) >> (64 - bits);
            ring[j % D] = q;
            __builtin_prefetch(&table[q], 1);
        }
        int64_t r;
        for (;;) {
            r = table[p];
            if (r < 0) {
                r = count++;
                table[p] = (int32_t)r;
                uniq[r] = k;
                first[r] = j;
                break;
            }
            if (uniq[r] == k) break;
            p = (p + 1) & mask;
        }
        if (inv32) inv32[j] = (int32_t)r; else inv64[j] = r;
    }
    Py_END_ALLOW_THREADS
    free(table);
    release(&bs);
    return PyLong_FromLongLong(count);
}

PyDoc_STRVAR(lookup_doc,
"lookup(h, starts, kbits, ids, keys, out)\n\n"
"_ExactVisited.lookup: for each int64 key, out = the id (from ids, int32 or int64; None:\n"
"0) of its mix in the sorted uint64 array h, else -1. starts: h's bucket index (int32 or\n"
"int64, 2**kbits + 1 entries: where each bucket of the mixes' top kbits bits begins).");

static PyObject *lookup(PyObject *self, PyObject *args) {
    PyObject *oh, *os, *oids, *ok, *oo;
    int kbits;
    if (!PyArg_ParseTuple(args, "OOiOOO", &oh, &os, &kbits, &oids, &ok, &oo)) return NULL;
    if (kbits < 0 || kbits > 40) {
        PyErr_SetString(PyExc_ValueError, "lookup: kbits out of range");
        return NULL;
    }
    Buffers bs = {.n = 0};
    Py_buffer *bh = take(&bs, oh, 0, 8, 8, "h"), *bst = bh ? take(&bs, os, 0, 4, 8, "starts") : NULL;
    Py_buffer *bid = NULL;
    if (bst && oids != Py_None) bid = take(&bs, oids, 0, 4, 8, "ids");
    Py_buffer *bk = bst && (oids == Py_None || bid) ? take(&bs, ok, 0, 8, 8, "keys") : NULL;
    Py_buffer *bo = bk ? take(&bs, oo, 1, 8, 8, "out") : NULL;
    if (!bo) { release(&bs); return NULL; }
    Py_ssize_t n = bh->len / 8, m = bk->len / 8, ssz = bst->itemsize;
    if (bst->len / ssz != ((Py_ssize_t)1 << kbits) + 1 || bo->len / 8 < m ||
            (bid && bid->len / bid->itemsize < n)) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "lookup: arrays of inconsistent sizes");
        return NULL;
    }
    const uint64_t *h = bh->buf;
    const int64_t *keys = bk->buf;
    int64_t *out = bo->buf;
    const void *starts = bst->buf, *ids = bid ? bid->buf : NULL;
    Py_ssize_t isz = bid ? bid->itemsize : 0;
    Py_BEGIN_ALLOW_THREADS
    /* in blocks of W: mixes, then every bucket's start prefetched, then every bucket's first
       stored mix prefetched, then the searches (about 2 cache misses a key, overlapped) */
    enum { W = 64 };
    uint64_t qs[W];
    int64_t los[W], his[W];
    for (Py_ssize_t base = 0; base < m; base += W) {
        Py_ssize_t e = base + W < m ? base + W : m;
        for (Py_ssize_t j = base; j < e; j++) {
            uint64_t q = mix((uint64_t)keys[j], 0);
            qs[j - base] = q;
            size_t b = kbits ? (size_t)(q >> (64 - kbits)) : 0;
            __builtin_prefetch((const char *)starts + b * ssz);
        }
        for (Py_ssize_t j = base; j < e; j++) {
            uint64_t q = qs[j - base];
            size_t b = kbits ? (size_t)(q >> (64 - kbits)) : 0;
            int64_t lo = get_index(starts, ssz, b), hi = get_index(starts, ssz, b + 1);
            los[j - base] = lo;
            his[j - base] = hi;
            if (lo < n) __builtin_prefetch(&h[lo]);
        }
        for (Py_ssize_t j = base; j < e; j++) {
            uint64_t q = qs[j - base];
            int64_t lo = los[j - base], hi = his[j - base];
            while (lo < hi) {
                int64_t mid = lo + ((hi - lo) >> 1);
                if (h[mid] < q) lo = mid + 1; else hi = mid;
            }
            out[j] = lo < n && h[lo] == q ? (ids ? get_index(ids, isz, lo) : 0) : -1;
        }
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(merge_doc,
"merge(h, n0, new, ids, new_ids)\n\n"
"_merge_into for a sorted set: h (uint64) holds n0 sorted values followed by room for the\n"
"len(new) sorted values of new, none equal to an old one; merges them in place, from the\n"
"end, moving ids (int32 or int64; None: none) and new_ids (the same type) alongside.");

static PyObject *merge(PyObject *self, PyObject *args) {
    PyObject *oh, *onew, *oids, *onid;
    Py_ssize_t n0;
    if (!PyArg_ParseTuple(args, "OnOOO", &oh, &n0, &onew, &oids, &onid)) return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bh = take(&bs, oh, 1, 8, 8, "h"), *bn = bh ? take(&bs, onew, 0, 8, 8, "new") : NULL;
    Py_buffer *bid = NULL, *bnid = NULL;
    if (bn && oids != Py_None) {
        bid = take(&bs, oids, 1, 4, 8, "ids");
        bnid = bid ? take(&bs, onid, 0, bid->itemsize, bid->itemsize, "new_ids") : NULL;
    }
    if (!bn || (oids != Py_None && !bnid)) { release(&bs); return NULL; }
    Py_ssize_t k = bn->len / 8, total = bh->len / 8;
    if (n0 < 0 || n0 + k != total || (bid && (bid->len / bid->itemsize != total ||
                                              bnid->len / bnid->itemsize != k))) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "merge: arrays of inconsistent sizes");
        return NULL;
    }
    uint64_t *h = bh->buf;
    const uint64_t *nw = bn->buf;
    int32_t *id32 = bid && bid->itemsize == 4 ? bid->buf : NULL;
    int64_t *id64 = bid && bid->itemsize == 8 ? bid->buf : NULL;
    const int32_t *nid32 = id32 ? bnid->buf : NULL;
    const int64_t *nid64 = id64 ? bnid->buf : NULL;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t i = n0 - 1, j = k - 1, w = total - 1;
    while (j >= 0) {
        if (i >= 0 && h[i] > nw[j]) {
            h[w] = h[i];
            if (id32) id32[w] = id32[i]; else if (id64) id64[w] = id64[i];
            i--;
        } else {
            h[w] = nw[j];
            if (id32) id32[w] = nid32[j]; else if (id64) id64[w] = nid64[j];
            j--;
        }
        w--;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(index_add_doc,
"index_add(starts, kbits, new) -> largest bucket\n\n"
"_ExactVisited._index without a change of kbits: adds the sorted uint64 values new to the\n"
"bucket index starts (int32 or int64, 2**kbits + 1 entries) in one sweep of both; returns\n"
"the largest bucket's size afterwards.");

static PyObject *index_add(PyObject *self, PyObject *args) {
    PyObject *os, *on;
    int kbits;
    if (!PyArg_ParseTuple(args, "OiO", &os, &kbits, &on)) return NULL;
    if (kbits < 0 || kbits > 40) {
        PyErr_SetString(PyExc_ValueError, "index_add: kbits out of range");
        return NULL;
    }
    Buffers bs = {.n = 0};
    Py_buffer *bst = take(&bs, os, 1, 4, 8, "starts"), *bn = bst ? take(&bs, on, 0, 8, 8, "new") : NULL;
    if (!bn) { release(&bs); return NULL; }
    Py_ssize_t nb = (Py_ssize_t)1 << kbits, k = bn->len / 8;
    if (bst->len / bst->itemsize != nb + 1) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "index_add: starts of the wrong size");
        return NULL;
    }
    const uint64_t *nw = bn->buf;
    int32_t *s32 = bst->itemsize == 4 ? bst->buf : NULL;
    int64_t *s64 = bst->itemsize == 8 ? bst->buf : NULL;
    int64_t biggest = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t j = 0;
    int64_t prev = s32 ? s32[0] : s64[0];
    for (Py_ssize_t b = 0; b < nb; b++) {  /* j: the new values in buckets up to b */
        while (j < k && (kbits ? (Py_ssize_t)(nw[j] >> (64 - kbits)) : 0) <= b) j++;
        int64_t v;
        if (s32) { s32[b + 1] += (int32_t)j; v = s32[b + 1]; }
        else { s64[b + 1] += j; v = s64[b + 1]; }
        if (v - prev > biggest) biggest = v - prev;
        prev = v;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    return PyLong_FromLongLong(biggest);
}

/* Per-source counts (degrees) come in the narrowest type that holds them: items of 1, 2 or
   4 bytes (unsigned) or 8 (int64). take() admits two item sizes; this any of the four. */
static Py_buffer *take_counts(Buffers *bs, PyObject *o, const char *what) {
    Py_buffer *b = &bs->b[bs->n];
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    bs->n++;
    if (b->itemsize != 1 && b->itemsize != 2 && b->itemsize != 4 && b->itemsize != 8) {
        PyErr_Format(PyExc_TypeError, "%s: items of %zd bytes", what, b->itemsize);
        return NULL;
    }
    return b;
}

static inline int64_t get_count(const void *a, Py_ssize_t itemsize, Py_ssize_t i) {
    return itemsize == 1 ? ((const uint8_t *)a)[i] : itemsize == 2 ? ((const uint16_t *)a)[i]
         : itemsize == 4 ? (int64_t)((const uint32_t *)a)[i] : ((const int64_t *)a)[i];
}

PyDoc_STRVAR(segment_any_doc,
"segment_any(flags, dst, offset, ends, deg, out, accumulate)\n\n"
"edges._segment_any over gathered flags: for each segment s (the deg[s] positions before\n"
"ends[s], int64), out[s] = whether flags (bool) is set at any dst[e] (int32; None: at\n"
"offset + e) for e in it; with accumulate, out[s] |= that. deg holds items of 1, 2, 4\n"
"(unsigned) or 8 bytes. Every position and index is checked.");

static PyObject *segment_any(PyObject *self, PyObject *args) {
    PyObject *of, *od, *oe, *og, *oo;
    long long offset;
    int acc;
    if (!PyArg_ParseTuple(args, "OOLOOOp", &of, &od, &offset, &oe, &og, &oo, &acc)) return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bf = take(&bs, of, 0, 1, 1, "flags"), *bd = NULL;
    if (bf && od != Py_None) bd = take(&bs, od, 0, 4, 4, "dst");
    Py_buffer *be = bf && (od == Py_None || bd) ? take(&bs, oe, 0, 8, 8, "ends") : NULL;
    Py_buffer *bg = be ? take_counts(&bs, og, "deg") : NULL;
    Py_buffer *bo = bg ? take(&bs, oo, 1, 1, 1, "out") : NULL;
    if (!bo) { release(&bs); return NULL; }
    Py_ssize_t nf = bf->len, ns = be->len / 8, ne = bd ? bd->len / 4 : 0;
    Py_ssize_t gsz = bg->itemsize;
    if (bg->len / gsz != ns || bo->len < ns) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "segment_any: arrays of inconsistent sizes");
        return NULL;
    }
    const uint8_t *flags = bf->buf;
    const int32_t *dst = bd ? bd->buf : NULL;
    const int64_t *ends = be->buf;
    const void *deg = bg->buf;
    uint8_t *out = bo->buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; s < ns && !bad; s++) {
        /* every 32 segments, the flags of the next ones' edges (up to 256) are prefetched:
           their reads are random, and their misses then overlap */
        if (dst && (s & 31) == 0) {
            Py_ssize_t last = s + 31 < ns ? s + 31 : ns - 1;
            int64_t a = s ? ends[s - 1] : 0, b = ends[last];
            if (a < 0) a = 0;
            if (b > ne) b = ne;
            if (b > a + 256) b = a + 256;
            for (int64_t e = a; e < b; e++) {
                int64_t j = dst[e];
                if (j >= 0 && j < nf) __builtin_prefetch(&flags[j]);
            }
        }
        int64_t d = get_count(deg, gsz, s);
        int64_t hi = ends[s], lo = hi - d;
        if (d < 0 || lo < 0 || (dst && hi > ne)) { bad = 1; break; }
        uint8_t hit = acc ? (out[s] != 0) : 0;
        for (int64_t e = lo; e < hi && !hit; e++) {
            int64_t j = dst ? (int64_t)dst[e] : offset + e;
            if (j < 0 || j >= nf) { bad = 1; break; }
            hit = flags[j] != 0;
        }
        out[s] = hit;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "segment_any: a segment or an index out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(residual_doc,
"residual(stay, deg, ends, dst, kids, kid_ends, k0, out_deg, out_dst) -> edges written\n\n"
"The fixpoint's residual of a chunk: for each source s with stay[s] (bool), in order, its\n"
"edges dst[ends[s] - deg[s]:ends[s]] (int32; ends int64) and then, with kids (None: none;\n"
"kid_ends int64, their running ends), its children's ids k0 + kid_ends[s] - kids[s] and\n"
"up, written to out_dst (int32); out_deg (int64) gets each one's count. deg and kids hold\n"
"items of 1, 2, 4 (unsigned) or 8 bytes. Every position is checked.");

static PyObject *residual(PyObject *self, PyObject *args) {
    PyObject *ost, *og, *oe, *od, *ok, *oke, *ood, *oot;
    long long k0;
    if (!PyArg_ParseTuple(args, "OOOOOOLOO", &ost, &og, &oe, &od, &ok, &oke, &k0, &ood, &oot))
        return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bst = take(&bs, ost, 0, 1, 1, "stay");
    Py_buffer *bg = bst ? take_counts(&bs, og, "deg") : NULL;
    Py_buffer *be = bg ? take(&bs, oe, 0, 8, 8, "ends") : NULL;
    Py_buffer *bd = be ? take(&bs, od, 0, 4, 4, "dst") : NULL;
    Py_buffer *bk = NULL, *bke = NULL;
    if (bd && ok != Py_None) {
        bk = take_counts(&bs, ok, "kids");
        bke = bk ? take(&bs, oke, 0, 8, 8, "kid_ends") : NULL;
    }
    Py_buffer *bod = bd && (ok == Py_None || bke) ? take(&bs, ood, 1, 8, 8, "out_deg") : NULL;
    Py_buffer *bot = bod ? take(&bs, oot, 1, 4, 4, "out_dst") : NULL;
    if (!bot) { release(&bs); return NULL; }
    Py_ssize_t n = bst->len, ne = bd->len / 4, nod = bod->len / 8, not_ = bot->len / 4;
    if (bg->len / bg->itemsize != n || be->len / 8 != n ||
            (bk && (bk->len / bk->itemsize != n || bke->len / 8 != n))) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "residual: arrays of inconsistent sizes");
        return NULL;
    }
    const uint8_t *stay = bst->buf;
    const void *deg = bg->buf, *kids = bk ? bk->buf : NULL;
    Py_ssize_t gsz = bg->itemsize, ksz = bk ? bk->itemsize : 0;
    const int64_t *ends = be->buf, *kid_ends = bke ? bke->buf : NULL;
    const int32_t *dst = bd->buf;
    int64_t *out_deg = bod->buf;
    int32_t *out_dst = bot->buf;
    int bad = 0;
    int64_t w = 0, r = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; s < n; s++) {
        if (!stay[s]) continue;
        int64_t d = get_count(deg, gsz, s), hi = ends[s], lo = hi - d;
        int64_t c = kids ? get_count(kids, ksz, s) : 0;
        if (d < 0 || lo < 0 || hi > ne || r >= nod || w + d + c > not_) { bad = 1; break; }
        for (int64_t e = lo; e < hi; e++) out_dst[w++] = dst[e];
        int64_t first = kids ? k0 + kid_ends[s] - c : 0;
        if (first < 0 || first + c > INT32_MAX) { bad = 1; break; }
        for (int64_t j = 0; j < c; j++) out_dst[w++] = (int32_t)(first + j);
        out_deg[r++] = d + c;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "residual: a segment or an output out of range");
        return NULL;
    }
    return PyLong_FromLongLong(w);
}

static PyMethodDef methods[] = {
    {"index_add", index_add, METH_VARARGS, index_add_doc},
    {"first_unique", first_unique, METH_VARARGS, first_unique_doc},
    {"lookup", lookup, METH_VARARGS, lookup_doc},
    {"merge", merge, METH_VARARGS, merge_doc},
    {"segment_any", segment_any, METH_VARARGS, segment_any_doc},
    {"residual", residual, METH_VARARGS, residual_doc},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Compiled loops of the vector engine's visited set (see visited.py) and of the graph\n"
    "properties' edge store (edges.py).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
