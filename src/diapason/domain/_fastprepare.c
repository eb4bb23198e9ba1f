/*
 * diapason.domain._fastprepare: the common case of ``diapason.domain.stix.prepare`` in C.
 *
 * ``prepare`` checks every object of every import, and the Python checks were a third of
 * an import's time. This module does the same checks for the objects that pass them all
 * and returns the same ``Prepared`` record. For anything else (an error, a nested
 * reference, granular markings, a subclass of dict, list or str where JSON would give the
 * built-in type) it returns None and ``prepare`` runs the Python checks, which find and
 * word the error. It never builds an error of its own, so the Python code stays the one
 * place that says what is wrong with an object.
 *
 * It holds no state but the constants ``setup`` hands it. Every string it reads is checked
 * for its kind before its bytes are read; ids, paths and timestamps are ASCII or refused.
 * docs/store.md says how the two paths are kept equal (tests/domain/test_fastprepare.py).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Set once by setup(). */
static PyObject *Prepared = NULL;          /* the dataclass */
static PyObject *dumps = NULL;             /* orjson.dumps */
static PyObject *dumps_kwnames = NULL;     /* ("option",) */
static PyObject *sort_option = NULL;       /* orjson.OPT_SORT_KEYS */
static PyObject *sco_types = NULL;         /* frozenset */
static PyObject *unversioned_types = NULL; /* frozenset */
static PyObject *text_properties = NULL;   /* tuple of str */
static PyObject *epoch = NULL;             /* str */

/* Interned keys and constants. */
static PyObject *k_type, *k_id, *k_spec_version, *k_created, *k_modified, *k_revoked,
    *k_created_by_ref, *k_granular_markings, *k_external_references, *k_source_name,
    *k_external_id, *k_description, *s_spec, *s_newline, *empty_tuple;

#define LONGEST_FAST_KEY 280

static inline int
is_lower_alnum(Py_UCS1 c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static inline int
is_hex(Py_UCS1 c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int
is_digit(Py_UCS1 c)
{
    return c >= '0' && c <= '9';
}

/* TYPE_RE: [a-z0-9][a-z0-9-]{1,248}[a-z0-9] */
static int
valid_type(const Py_UCS1 *s, Py_ssize_t n)
{
    if (n < 3 || n > 250 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) {
        return 0;
    }
    for (Py_ssize_t i = 1; i < n - 1; i++) {
        if (!is_lower_alnum(s[i]) && s[i] != '-') {
            return 0;
        }
    }
    return 1;
}

/* ID_RE: TYPE "--" and an RFC 4122 UUID (variant 8, 9, a or b). The UUID and the "--" have
 * fixed lengths, so the only split the pattern can make is 38 characters from the end. */
static int
valid_id(PyObject *value)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_COMPACT_ASCII(value)) {
        return 0;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    if (n < 41 || !valid_type(s, n - 38) || s[n - 38] != '-' || s[n - 37] != '-') {
        return 0;
    }
    const Py_UCS1 *u = s + n - 36;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-') {
                return 0;
            }
        }
        else if (!is_hex(u[i])) {
            return 0;
        }
    }
    Py_UCS1 variant = u[19];
    return variant == '8' || variant == '9' || variant == 'a' || variant == 'b' ||
           variant == 'A' || variant == 'B';
}

static int
starts_with(PyObject *value, const char *prefix, Py_ssize_t length)
{
    return PyUnicode_CheckExact(value) && PyUnicode_IS_COMPACT_ASCII(value) &&
           PyUnicode_GET_LENGTH(value) >= length &&
           memcmp(PyUnicode_1BYTE_DATA(value), prefix, (size_t)length) == 0;
}

static int
ends_with(const Py_UCS1 *s, Py_ssize_t n, const char *suffix, Py_ssize_t length)
{
    return n >= length && memcmp(s + n - length, suffix, (size_t)length) == 0;
}

static int
days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
        return 29;
    }
    return days[month - 1];
}

static int
number(const Py_UCS1 *s, int width)
{
    int value = 0;
    for (int i = 0; i < width; i++) {
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

/* normalise_timestamp for a valid timestamp: YYYY-MM-DDTHH:MM:SS[.d{1,9}]Z, a real date
 * and time, written back with six fraction digits. A new reference, or NULL without an
 * exception when the value is anything else. */
static PyObject *
normalise(PyObject *value)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_COMPACT_ASCII(value)) {
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(value);
    static const char layout[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 20 || s[n - 1] != 'Z') {
        return NULL;
    }
    for (int i = 0; i < 19; i++) {
        if (layout[i] == 'd' ? !is_digit(s[i]) : s[i] != (Py_UCS1)layout[i]) {
            return NULL;
        }
    }
    Py_ssize_t digits = 0;
    if (n > 20) {
        digits = n - 21;
        if (s[19] != '.' || digits < 1 || digits > 9) {
            return NULL;
        }
        for (Py_ssize_t i = 20; i < n - 1; i++) {
            if (!is_digit(s[i])) {
                return NULL;
            }
        }
    }
    /* What datetime.fromisoformat accepts: years 1 to 9999, real days, seconds below 60. */
    int year = number(s, 4), month = number(s + 5, 2), day = number(s + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        number(s + 11, 2) > 23 || number(s + 14, 2) > 59 || number(s + 17, 2) > 59) {
        return NULL;
    }
    if (digits == 6) {
        return Py_NewRef(value);
    }
    PyObject *result = PyUnicode_New(27, 127);
    if (result == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(result);
    memcpy(out, s, 19);
    out[19] = '.';
    for (Py_ssize_t i = 0; i < 6; i++) {
        out[20 + i] = i < digits ? s[20 + i] : '0';
    }
    out[26] = 'Z';
    return result;
}

/* REF_PATH_RE for a top-level key that may take "[N]" after it: 1 to 280 characters of
 * [A-Za-z0-9_.[]-]. */
static int
valid_ref_key(const Py_UCS1 *s, Py_ssize_t n)
{
    if (n < 1 || n > LONGEST_FAST_KEY) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS1 c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '[' || c == ']' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* "key[position]" for an ASCII key. */
static PyObject *
list_path(const Py_UCS1 *key, Py_ssize_t n, Py_ssize_t position)
{
    char digits[24];
    int width = snprintf(digits, sizeof digits, "%zd", position);
    PyObject *path = PyUnicode_New(n + width + 2, 127);
    if (path == NULL) {
        return NULL;
    }
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(path);
    memcpy(out, key, (size_t)n);
    out[n] = '[';
    memcpy(out + n + 1, digits, (size_t)width);
    out[n + 1 + width] = ']';
    return path;
}

/* Add a marking id to the list unless it is there already (markings are few). */
static int
add_marking(PyObject *markings, PyObject *target)
{
    Py_ssize_t count = PyList_GET_SIZE(markings);
    for (Py_ssize_t i = 0; i < count; i++) {
        int equal = PyUnicode_Compare(PyList_GET_ITEM(markings, i), target);
        if (equal == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (equal == 0) {
            return 0;
        }
    }
    return PyList_Append(markings, target);
}

static int
is_marking_target(PyObject *target)
{
    return starts_with(target, "marking-definition--", 20);
}

/* One reference entry of top-level key ``key`` (ASCII), at ``position`` in its list or -1
 * for a single id: checked, then added to the markings or, as (path, target), to the edges.
 * Returns 1, 0 to leave the object to Python, -1 on an exception. */
static int
add_link(PyObject *markings, PyObject *edges, int is_marking, PyObject *key,
         Py_ssize_t position, PyObject *target)
{
    if (!valid_id(target)) {
        return 0;
    }
    if (is_marking) {
        if (!is_marking_target(target)) {
            return 0;
        }
        return add_marking(markings, target) < 0 ? -1 : 1;
    }
    PyObject *path = position < 0 ? Py_NewRef(key)
                                  : list_path(PyUnicode_1BYTE_DATA(key),
                                              PyUnicode_GET_LENGTH(key), position);
    if (path == NULL) {
        return -1;
    }
    PyObject *edge = PyTuple_Pack(2, path, target);
    Py_DECREF(path);
    if (edge == NULL || PyList_Append(edges, edge) < 0) {
        Py_XDECREF(edge);
        return -1;
    }
    Py_DECREF(edge);
    return 1;
}

/* The entries of one top-level key, checked and added to the markings or edges. Returns 2
 * when the key is no reference key, 1 when its entries were added, 0 to leave the object to
 * Python, -1 on an exception. */
static int
key_links(PyObject *markings, PyObject *edges, PyObject *key, PyObject *value)
{
    if (!PyUnicode_IS_COMPACT_ASCII(key)) {
        /* A reference key must be ASCII: one that may end in _ref or _refs is left to
         * Python, which tells what is wrong with it. */
        Py_ssize_t length = PyUnicode_GET_LENGTH(key);
        Py_UCS4 last = length ? PyUnicode_READ_CHAR(key, length - 1) : 0;
        return last == 'f' || last == 's' ? 0 : 2;
    }
    const Py_UCS1 *k = PyUnicode_1BYTE_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    int plural = ends_with(k, n, "_refs", 5);
    if (!plural && !ends_with(k, n, "_ref", 4)) {
        return 2;
    }
    if (!valid_ref_key(k, n)) {
        return 0;
    }
    int is_marking = (n >= 19 && memcmp(k, "object_marking_refs", 19) == 0) ||
                     ends_with(k, n, ".marking_ref", 12);
    if (!(plural && PyList_Check(value))) {
        return add_link(markings, edges, is_marking, key, -1, value);
    }
    if (!PyList_CheckExact(value)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *target = Py_NewRef(PyList_GET_ITEM(value, i));
        int added = add_link(markings, edges, is_marking, key, i, target);
        Py_DECREF(target);
        if (added != 1) {
            return added;
        }
    }
    return 1;
}

/* The markings and edges of an object whose only references are its top-level reference
 * keys (its keys all of the built-in str), as _top_level_links gives them. Returns 1 with
 * both lists filled, 0 to leave the object to Python, -1 on an exception. */
static int
links(PyObject *obj, PyObject *content, PyObject *markings, PyObject *edges)
{
    const char *text = PyBytes_AS_STRING(content);
    Py_ssize_t size = PyBytes_GET_SIZE(content);
    Py_ssize_t expected = 0;
    for (const char *at = text, *end = text + size;
         (at = memmem(at, (size_t)(end - at), "_ref", 4)) != NULL; at += 4) {
        expected++;
    }
    int has_external = PyDict_Contains(obj, k_external_references);
    if (has_external < 0) {
        return -1;
    }
    expected -= has_external;
    if (expected == 0) {
        return 1;
    }
    Py_ssize_t found = 0, position = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &position, &key, &value)) {
        /* Checked again: orjson.dumps may have run Python code (a dataclass's getter) that
         * added a key of another type since fast_prepare looked. */
        if (!PyUnicode_CheckExact(key)) {
            return 0;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        int outcome = key_links(markings, edges, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (outcome < 1) {
            return outcome;
        }
        found += outcome == 1;
    }
    return found == expected;
}

/* obj[key] as a new reference in *value, NULL when absent. Returns -1 on an exception. */
static inline int
take(PyObject *obj, PyObject *key, PyObject **value)
{
    *value = Py_XNewRef(PyDict_GetItemWithError(obj, key));
    return *value == NULL && PyErr_Occurred() ? -1 : 0;
}

/* Append item to parts if it is a built-in str. Returns 0 (appended, or no string), 1 for
 * a subclass of str (left to Python), -1 on an exception. */
static int
add_string(PyObject *parts, PyObject *item)
{
    if (PyUnicode_CheckExact(item)) {
        return PyList_Append(parts, item);
    }
    return PyUnicode_Check(item) ? 1 : 0;
}

/* Append the value to parts if it is a string, or its string items if it is a list.
 * Returns 0, or 1 to leave the object to Python (a subclass), or -1 on an exception. */
static int
add_text(PyObject *parts, PyObject *value)
{
    if (!PyList_Check(value)) {
        return add_string(parts, value);
    }
    if (!PyList_CheckExact(value)) {
        return 1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        int outcome = add_string(parts, PyList_GET_ITEM(value, i));
        if (outcome != 0) {
            return outcome;
        }
    }
    return 0;
}

/* The source name, external id and description of one external reference (a dict) added
 * to parts. Returns 0, 1 to leave the object to Python, -1 on an exception. */
static int
add_reference_text(PyObject *parts, PyObject *reference)
{
    if (!PyDict_CheckExact(reference)) {
        return 1;
    }
    PyObject *keys[] = {k_source_name, k_external_id, k_description};
    for (int j = 0; j < 3; j++) {
        PyObject *item = PyDict_GetItemWithError(reference, keys[j]);
        if (item == NULL && PyErr_Occurred()) {
            return -1;
        }
        int outcome = item == NULL ? 0 : add_string(parts, item);
        if (outcome != 0) {
            return outcome;
        }
    }
    return 0;
}

/* _text_of: the searchable text, or NULL (with no exception) to leave the object to
 * Python. Every value read is held while it is read. */
static PyObject *
text_of(PyObject *obj)
{
    PyObject *parts = PyList_New(0), *value = NULL;
    if (parts == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(text_properties); i++) {
        if (take(obj, PyTuple_GET_ITEM(text_properties, i), &value) < 0) {
            goto fail;
        }
        if (value != NULL && add_text(parts, value) != 0) {
            goto fail;
        }
        Py_CLEAR(value);
    }
    if (take(obj, k_external_references, &value) < 0) {
        goto fail;
    }
    if (value != NULL && PyList_Check(value)) {
        if (!PyList_CheckExact(value)) {
            goto fail;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            PyObject *reference = Py_NewRef(PyList_GET_ITEM(value, i));
            int outcome = PyDict_Check(reference) ? add_reference_text(parts, reference) : 0;
            Py_DECREF(reference);
            if (outcome != 0) {
                goto fail;
            }
        }
    }
    Py_CLEAR(value);
    PyObject *text = PyUnicode_Join(s_newline, parts);
    Py_DECREF(parts);
    return text;
fail:
    Py_XDECREF(value);
    Py_DECREF(parts);
    return NULL;
}

static PyObject *
fast_prepare(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "prepare(obj, index, max_bytes)");
        return NULL;
    }
    if (Prepared == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    PyObject *obj = args[0], *index = args[1];
    /* Python compares the size with any number: C takes a built-in int, and one beyond
     * Py_ssize_t as no limit. Anything else (a float, a negative giant) is left to Python. */
    if (!PyDict_CheckExact(obj) || !PyLong_CheckExact(args[2])) {
        Py_RETURN_NONE;
    }
    int overflow = 0;
    long long limit = PyLong_AsLongLongAndOverflow(args[2], &overflow);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow < 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t max_bytes = overflow > 0 || limit > PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX
                                                                   : (Py_ssize_t)limit;
    /* Keys of the built-in str only: then no lookup below runs Python code (a key's __eq__)
     * that could change the object while its values are read. */
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            Py_RETURN_NONE;
        }
    }
    /* Values read from the object are held (owned) until the end: allocations in between
     * may run a collection, and a finaliser may change the object. */
    PyObject *stix_type = NULL, *object_id = NULL, *spec_version = NULL, *raw_created = NULL,
             *raw_modified = NULL, *revoked = NULL, *created_by_ref = NULL, *created = NULL,
             *modified = NULL, *content = NULL, *content_text = NULL, *markings = NULL,
             *edges = NULL, *markings_tuple = NULL, *edges_tuple = NULL, *text = NULL,
             *result = NULL;

    if (take(obj, k_type, &stix_type) < 0 || take(obj, k_id, &object_id) < 0 ||
        take(obj, k_spec_version, &spec_version) < 0 || take(obj, k_created, &raw_created) < 0 ||
        take(obj, k_modified, &raw_modified) < 0 || take(obj, k_revoked, &revoked) < 0 ||
        take(obj, k_created_by_ref, &created_by_ref) < 0) {
        goto fail;
    }
    if (stix_type == NULL || object_id == NULL || !PyUnicode_CheckExact(stix_type) ||
        !PyUnicode_IS_COMPACT_ASCII(stix_type) || !valid_id(object_id)) {
        goto leave;
    }
    Py_ssize_t type_length = PyUnicode_GET_LENGTH(stix_type);
    if (PyUnicode_GET_LENGTH(object_id) - 38 != type_length ||
        memcmp(PyUnicode_1BYTE_DATA(object_id), PyUnicode_1BYTE_DATA(stix_type),
               (size_t)type_length) != 0) {
        goto leave;
    }

    int is_sco = PySet_Contains(sco_types, stix_type);
    if (is_sco < 0) {
        goto fail;
    }
    if (spec_version == NULL || spec_version == Py_None ? !is_sco
                             : !PyUnicode_CheckExact(spec_version) ||
                                   PyUnicode_Compare(spec_version, s_spec) != 0) {
        goto leave;
    }

    if (raw_created != NULL) {
        created = normalise(raw_created);
        if (created == NULL) {
            goto check;
        }
    }
    else if (!is_sco) {
        goto leave;
    }
    if (raw_modified != NULL) {
        if (created != NULL && PyUnicode_CheckExact(raw_modified) &&
            PyUnicode_Compare(raw_modified, raw_created) == 0) {
            modified = Py_NewRef(created);
        }
        else {
            modified = normalise(raw_modified);
            if (modified == NULL) {
                goto check;
            }
            if (created != NULL && PyUnicode_Compare(modified, created) < 0) {
                goto leave;
            }
        }
    }
    else {
        int unversioned = PySet_Contains(unversioned_types, stix_type);
        if (unversioned < 0) {
            goto fail;
        }
        if (!unversioned) {
            goto leave;
        }
        modified = Py_NewRef(created != NULL ? created : epoch);
    }

    if (revoked != NULL && revoked != Py_True && revoked != Py_False) {
        goto leave;
    }
    if (created_by_ref != NULL && created_by_ref != Py_None && !starts_with(created_by_ref, "identity--", 10)) {
        goto leave;
    }
    int has_granular = PyDict_Contains(obj, k_granular_markings);
    if (has_granular != 0) {
        goto check;
    }

    PyObject *dumps_args[] = {obj, sort_option};
    content = PyObject_Vectorcall(dumps, dumps_args, 1, dumps_kwnames);
    if (content == NULL) {
        /* orjson.JSONEncodeError is a TypeError: Python tells what cannot be serialised.
         * A RecursionError (from Python code orjson ran) becomes a Problem there too. */
        if (PyErr_ExceptionMatches(PyExc_TypeError) ||
            PyErr_ExceptionMatches(PyExc_RecursionError)) {
            PyErr_Clear();
            goto leave;
        }
        goto fail;
    }
    if (!PyBytes_CheckExact(content) || PyBytes_GET_SIZE(content) > max_bytes) {
        goto leave;
    }
    markings = PyList_New(0);
    edges = PyList_New(0);
    if (markings == NULL || edges == NULL) {
        goto fail;
    }
    int linked = links(obj, content, markings, edges);
    if (linked < 0) {
        goto fail;
    }
    if (linked == 0) {
        goto leave;
    }
    text = text_of(obj);
    if (text == NULL) {
        goto check;
    }
    content_text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(content), PyBytes_GET_SIZE(content),
                                        NULL);
    if (content_text == NULL) {
        goto fail;
    }
    markings_tuple = PyList_GET_SIZE(markings) ? PyList_AsTuple(markings) : Py_NewRef(empty_tuple);
    edges_tuple = PyList_GET_SIZE(edges) ? PyList_AsTuple(edges) : Py_NewRef(empty_tuple);
    if (markings_tuple == NULL || edges_tuple == NULL) {
        goto fail;
    }
    PyObject *fields[] = {
        index,
        object_id,
        stix_type,
        spec_version != NULL ? spec_version : Py_None,
        created != NULL ? created : Py_None,
        modified,
        created_by_ref != NULL ? created_by_ref : Py_None,
        revoked != NULL ? revoked : Py_False,
        content_text,
        markings_tuple,
        edges_tuple,
        text,
    };
    result = PyObject_Vectorcall(Prepared, fields, 12, NULL);
    goto done;

check:
    /* A helper returned NULL: an exception, or a value to leave to Python. */
    if (PyErr_Occurred()) {
        goto fail;
    }
leave:
    result = Py_NewRef(Py_None);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(stix_type);
    Py_XDECREF(object_id);
    Py_XDECREF(spec_version);
    Py_XDECREF(raw_created);
    Py_XDECREF(raw_modified);
    Py_XDECREF(revoked);
    Py_XDECREF(created_by_ref);
    Py_XDECREF(created);
    Py_XDECREF(modified);
    Py_XDECREF(content);
    Py_XDECREF(content_text);
    Py_XDECREF(markings);
    Py_XDECREF(edges);
    Py_XDECREF(markings_tuple);
    Py_XDECREF(edges_tuple);
    Py_XDECREF(text);
    return result;
}

static PyObject *
fast_normalise(PyObject *module, PyObject *value)
{
    PyObject *result = normalise(value);
    if (result == NULL && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return result;
}

static PyObject *
fast_valid_id(PyObject *module, PyObject *value)
{
    return PyBool_FromLong(valid_id(value));
}

static PyObject *
setup(PyObject *module, PyObject *args)
{
    PyObject *prepared, *dumps_function, *option, *sco, *unversioned, *text_keys, *epoch_value;
    if (!PyArg_ParseTuple(args, "OOOO!O!O!U:setup", &prepared, &dumps_function, &option,
                          &PyFrozenSet_Type, &sco, &PyFrozenSet_Type, &unversioned,
                          &PyTuple_Type, &text_keys, &epoch_value)) {
        return NULL;
    }
    Py_XSETREF(Prepared, Py_NewRef(prepared));
    Py_XSETREF(dumps, Py_NewRef(dumps_function));
    Py_XSETREF(sort_option, Py_NewRef(option));
    Py_XSETREF(sco_types, Py_NewRef(sco));
    Py_XSETREF(unversioned_types, Py_NewRef(unversioned));
    Py_XSETREF(text_properties, Py_NewRef(text_keys));
    Py_XSETREF(epoch, Py_NewRef(epoch_value));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS,
     "setup(Prepared, dumps, sort_option, sco_types, unversioned_types, text_properties, "
     "epoch): the constants prepare() needs."},
    {"prepare", (PyCFunction)(void (*)(void))fast_prepare, METH_FASTCALL,
     "prepare(obj, index, max_bytes): a Prepared record, or None to leave the object to "
     "the Python checks."},
    {"normalise", fast_normalise, METH_O,
     "normalise(value): the timestamp at microsecond precision, or None."},
    {"valid_id", fast_valid_id, METH_O, "valid_id(value): whether value matches ID_RE."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "diapason.domain._fastprepare",
    .m_doc = "The common case of diapason.domain.stix.prepare in C.",
    .m_size = -1,
    .m_methods = methods,
};

static PyObject *
intern(const char *text)
{
    return PyUnicode_InternFromString(text);
}

PyMODINIT_FUNC
PyInit__fastprepare(void)
{
    if (!(k_type = intern("type")) || !(k_id = intern("id")) ||
        !(k_spec_version = intern("spec_version")) || !(k_created = intern("created")) ||
        !(k_modified = intern("modified")) || !(k_revoked = intern("revoked")) ||
        !(k_created_by_ref = intern("created_by_ref")) ||
        !(k_granular_markings = intern("granular_markings")) ||
        !(k_external_references = intern("external_references")) ||
        !(k_source_name = intern("source_name")) || !(k_external_id = intern("external_id")) ||
        !(k_description = intern("description")) || !(s_spec = intern("2.1")) ||
        !(s_newline = intern("\n")) || !(empty_tuple = PyTuple_New(0))) {
        return NULL;
    }
    /* Interned: orjson tells its keyword arguments apart by identity. */
    PyObject *option = intern("option");
    if (option == NULL || (dumps_kwnames = PyTuple_Pack(1, option)) == NULL) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
