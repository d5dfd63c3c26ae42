/* Compiled loops of the derived model (model/derived/successors.py and npmemo.py).

   enactor_successors is the same computation as Successors._scatter with the enactor build
   of Successors.expand (and _insertion's place under symmetry); hash_get and hash_place are
   npmemo.HashIndex's lookup and insertion. Their numpy code stays as the reference
   (tests/model/test_derived_kernels.py compares them) and as the fallback where this module
   was not built. Keys are bit fields of one int64; nothing here knows what the fields mean.
   Every index read from the memo's tables is checked against the table's length. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define MAX_N 64

/* The buffers a call holds, released together. (checker/explore/_kernels.c has the same
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

static inline int64_t rank_at(const void *rank, Py_ssize_t sz, Py_ssize_t i) {
    return sz == 2 ? ((const int16_t *)rank)[i] : ((const int32_t *)rank)[i];
}

PyDoc_STRVAR(enactor_successors_doc,
"enactor_successors(keys, count, start, at, keep, hi, rid, shift, aids, n, i, out_key,\n"
"                   out_aid, rank, w, shared, full) -> None\n\n"
"For each source r (int64 keys) and each j < count[r]: delta d = start[r] + j is written\n"
"at out[at[r] + j]: out_aid = aids[d * n + i] (int16), out_key = (keys[r] & keep) | hi[d]\n"
"| rid[d] << shift; with rank (int16 or int32 per record id; None: no symmetry), the record\n"
"rid[d] is moved instead to its place by rank among the source's other n - 1 records of w\n"
"bits (shared: the mask of the shared part, full: that of n - 1 records).");

static PyObject *enactor_successors(PyObject *self, PyObject *args) {
    PyObject *okeys, *ocount, *ostart, *oat, *ohi, *orid, *oaids, *ook, *ooa, *orank;
    long long keep_, shared_, full_;
    int shift, n, i, w;
    if (!PyArg_ParseTuple(args, "OOOOLOOiOiiOOOiLL", &okeys, &ocount, &ostart, &oat, &keep_,
                          &ohi, &orid, &shift, &oaids, &n, &i, &ook, &ooa, &orank, &w,
                          &shared_, &full_))
        return NULL;
    if (n < 1 || n > MAX_N || i < 0 || i >= n || w < 1 || w * n > 64 || shift < 0 ||
            shift > 63) {
        PyErr_SetString(PyExc_ValueError, "enactor_successors: layout out of range");
        return NULL;
    }
    Buffers bs = {.n = 0};
    Py_buffer *bk = take(&bs, okeys, 0, 8, 8, "keys");
    Py_buffer *bc = bk ? take(&bs, ocount, 0, 8, 8, "count") : NULL;
    Py_buffer *bst = bc ? take(&bs, ostart, 0, 8, 8, "start") : NULL;
    Py_buffer *bat = bst ? take(&bs, oat, 0, 8, 8, "at") : NULL;
    Py_buffer *bhi = bat ? take(&bs, ohi, 0, 8, 8, "hi") : NULL;
    Py_buffer *brid = bhi ? take(&bs, orid, 0, 8, 8, "rid") : NULL;
    Py_buffer *baid = brid ? take(&bs, oaids, 0, 2, 2, "aids") : NULL;
    Py_buffer *bok = baid ? take(&bs, ook, 1, 8, 8, "out_key") : NULL;
    Py_buffer *boa = bok ? take(&bs, ooa, 1, 2, 2, "out_aid") : NULL;
    Py_buffer *brank = NULL;
    if (boa && orank != Py_None) brank = take(&bs, orank, 0, 2, 4, "rank");
    if (!boa || (orank != Py_None && !brank)) { release(&bs); return NULL; }
    Py_ssize_t m = bk->len / 8;
    if (bc->len / 8 != m || bst->len / 8 != m || bat->len / 8 != m) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "enactor_successors: per-source arrays differ in size");
        return NULL;
    }
    const uint64_t *keys = bk->buf, *hi = bhi->buf, *rid = brid->buf;
    const int64_t *count = bc->buf, *start = bst->buf, *at = bat->buf;
    const int16_t *aids = baid->buf;
    uint64_t *out_key = bok->buf;
    int16_t *out_aid = boa->buf;
    const void *rank = brank ? brank->buf : NULL;
    Py_ssize_t rsz = brank ? brank->itemsize : 0, n_rank = brank ? brank->len / rsz : 0;
    Py_ssize_t n_d = bhi->len / 8 < brid->len / 8 ? bhi->len / 8 : brid->len / 8;
    Py_ssize_t n_aid = baid->len / 2, n_out = bok->len / 8 < boa->len / 2 ? bok->len / 8
                                                                         : boa->len / 2;
    uint64_t keep = (uint64_t)keep_, shared = (uint64_t)shared_, full = (uint64_t)full_;
    uint64_t wm = w == 64 ? ~0ULL : ((1ULL << w) - 1), low = (1ULL << (i * w)) - 1;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    int64_t src_rank[MAX_N];
    for (Py_ssize_t r = 0; r < m && !bad; r++) {
        int64_t c = count[r];
        if (c <= 0) continue;
        int64_t d0 = start[r], p0 = at[r];
        if (d0 < 0 || d0 + c > n_d || (d0 + c - 1) * n + i >= n_aid || p0 < 0 ||
                p0 + c > n_out) { bad = 1; break; }
        uint64_t key = keys[r], base = key & keep;
        if (rank) {
            for (int j = 0; j < n; j++) {
                uint64_t f = (key >> (j * w)) & wm;
                if ((Py_ssize_t)f >= n_rank) { bad = 1; break; }
                src_rank[j] = rank_at(rank, rsz, (Py_ssize_t)f);
            }
            if (bad) break;
        }
        for (int64_t j = 0; j < c; j++) {
            int64_t d = d0 + j;
            uint64_t rd = rid[d], out;
            out_aid[p0 + j] = aids[d * n + i];
            if (!rank) {
                out = base | hi[d] | (rd << shift);
            } else {
                if (rd >= (uint64_t)n_rank) { bad = 1; break; }
                int64_t new_rank = rank_at(rank, rsz, (Py_ssize_t)rd);
                int p = 0;
                for (int q = 0; q < n; q++)
                    if (q != i && src_rank[q] < new_rank) p++;
                uint64_t rest = base | hi[d];
                uint64_t others = (rest & low) | ((rest >> w) & (full & ~low));
                uint64_t below = (1ULL << (p * w)) - 1;
                out = (rest & shared) | (others & below) | (rd << (p * w)) |
                      ((others & ~below) << w);
            }
            out_key[p0 + j] = out;
        }
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    if (bad) {
        PyErr_SetString(PyExc_IndexError, "enactor_successors: an index outside its table");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(hash_get_doc,
"hash_get(keys, vals, bits, q, out) -> None\n\n"
"npmemo.HashIndex.get: out = vals at the slot holding each key of q (int64, >= 0) in the\n"
"open-addressing table keys (2**bits int64 slots, -1 free, multiplicative hash, linear\n"
"probing), else -1.");

static inline size_t slot_of(int64_t k, int bits) {
    return (size_t)(((uint64_t)k * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

static int table_args(Buffers *bs, PyObject *ok, PyObject *ov, int bits, int writable,
                      Py_buffer **bk, Py_buffer **bv) {
    if (bits < 1 || bits > 40) {
        PyErr_SetString(PyExc_ValueError, "hash table: bits out of range");
        return -1;
    }
    *bk = take(bs, ok, writable, 8, 8, "keys");
    *bv = *bk ? take(bs, ov, writable, 8, 8, "vals") : NULL;
    if (!*bv) return -1;
    if ((*bk)->len / 8 != ((Py_ssize_t)1 << bits) || (*bv)->len / 8 != ((Py_ssize_t)1 << bits)) {
        PyErr_SetString(PyExc_ValueError, "hash table: keys and vals need 2**bits slots");
        return -1;
    }
    return 0;
}

static PyObject *hash_get(PyObject *self, PyObject *args) {
    PyObject *ok, *ov, *oq, *oo;
    int bits;
    if (!PyArg_ParseTuple(args, "OOiOO", &ok, &ov, &bits, &oq, &oo)) return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bk, *bv;
    if (table_args(&bs, ok, ov, bits, 0, &bk, &bv) < 0) { release(&bs); return NULL; }
    Py_buffer *bq = take(&bs, oq, 0, 8, 8, "q"), *bo = bq ? take(&bs, oo, 1, 8, 8, "out") : NULL;
    if (!bo) { release(&bs); return NULL; }
    Py_ssize_t m = bq->len / 8;
    if (bo->len / 8 < m) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "hash_get: out too short");
        return NULL;
    }
    const int64_t *keys = bk->buf, *vals = bv->buf, *q = bq->buf;
    int64_t *out = bo->buf;
    size_t mask = ((size_t)1 << bits) - 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < m; j++) {
        int64_t k = q[j], v = -1;
        size_t h = slot_of(k, bits);
        for (size_t probes = 0; probes <= mask; probes++) {  /* (a full table ends too) */
            int64_t t = keys[h];
            if (t == k) { v = vals[h]; break; }
            if (t < 0) break;
            h = (h + 1) & mask;
        }
        out[j] = v;
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(hash_place_doc,
"hash_place(keys, vals, bits, q, v) -> placed\n\n"
"npmemo.HashIndex._place: puts each key of q (int64, >= 0, distinct, none in the table yet)\n"
"with its value v in its first free slot; returns how many it placed (all, unless the table\n"
"filled up).");

static PyObject *hash_place(PyObject *self, PyObject *args) {
    PyObject *ok, *ov, *oq, *onv;
    int bits;
    if (!PyArg_ParseTuple(args, "OOiOO", &ok, &ov, &bits, &oq, &onv)) return NULL;
    Buffers bs = {.n = 0};
    Py_buffer *bk, *bv;
    if (table_args(&bs, ok, ov, bits, 1, &bk, &bv) < 0) { release(&bs); return NULL; }
    Py_buffer *bq = take(&bs, oq, 0, 8, 8, "q"), *bn = bq ? take(&bs, onv, 0, 8, 8, "v") : NULL;
    if (!bn) { release(&bs); return NULL; }
    Py_ssize_t m = bq->len / 8;
    if (bn->len / 8 != m) {
        release(&bs);
        PyErr_SetString(PyExc_ValueError, "hash_place: q and v differ in size");
        return NULL;
    }
    int64_t *keys = bk->buf, *vals = bv->buf;
    const int64_t *q = bq->buf, *nv = bn->buf;
    size_t mask = ((size_t)1 << bits) - 1;
    Py_ssize_t placed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < m; j++) {
        size_t h = slot_of(q[j], bits);
        for (size_t probes = 0; probes <= mask; probes++) {
            if (keys[h] < 0) { keys[h] = q[j]; vals[h] = nv[j]; placed++; break; }
            h = (h + 1) & mask;
        }
    }
    Py_END_ALLOW_THREADS
    release(&bs);
    return PyLong_FromSsize_t(placed);
}

static PyMethodDef methods[] = {
    {"hash_get", hash_get, METH_VARARGS, hash_get_doc},
    {"hash_place", hash_place, METH_VARARGS, hash_place_doc},
    {"enactor_successors", enactor_successors, METH_VARARGS, enactor_successors_doc},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Compiled loops of the derived model (see successors.py and npmemo.py).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
