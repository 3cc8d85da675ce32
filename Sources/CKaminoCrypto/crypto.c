// JWT signature primitives over OpenSSL 3's libcrypto (see include/CKaminoCrypto.h).
#include "CKaminoCrypto.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static EVP_PKEY *as_evp(kamino_pkey *key) { return (EVP_PKEY *)key; }
static const EVP_PKEY *as_evp_const(const kamino_pkey *key) { return (const EVP_PKEY *)key; }

int kamino_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t data_len, uint8_t out[32]) {
    unsigned int out_len = 0;
    // HMAC() takes an int key length.
    if (key_len > 0x7fffffff) return 0;
    static const uint8_t empty = 0;
    if (HMAC(EVP_sha256(), key_len ? key : &empty, (int)key_len, data_len ? data : &empty, data_len, out, &out_len) == NULL)
        return 0;
    return out_len == 32;
}

int kamino_equal_ct(const uint8_t *a, const uint8_t *b, size_t len) { return CRYPTO_memcmp(a, b, len) == 0; }

kamino_pkey *kamino_pkey_public_from_pem(const char *pem, size_t len) {
    if (len > 0x7fffffff) return NULL;
    EVP_PKEY *pkey = NULL;
    // SubjectPublicKeyInfo ("PUBLIC KEY") and PKCS#1 ("RSA PUBLIC KEY").
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, EVP_PKEY_PUBLIC_KEY, NULL, NULL);
    if (dctx != NULL) {
        const unsigned char *data = (const unsigned char *)pem;
        size_t left = len;
        if (OSSL_DECODER_from_data(dctx, &data, &left) != 1) pkey = NULL;
        OSSL_DECODER_CTX_free(dctx);
    }
    if (pkey != NULL) return (kamino_pkey *)pkey;
    // A certificate: its public key.
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return NULL;
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (cert == NULL) return NULL;
    pkey = X509_get_pubkey(cert);
    X509_free(cert);
    return (kamino_pkey *)pkey;
}

kamino_pkey *kamino_pkey_private_from_pem(const char *pem, size_t len) {
    if (len > 0x7fffffff) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return NULL;
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return (kamino_pkey *)pkey;
}

/// Builds a public key of `type` from `params`; NULL on failure.
static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld) {
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

kamino_pkey *kamino_pkey_rsa_from_jwk(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len) {
    if (n_len == 0 || e_len == 0 || n_len > 2048 || e_len > 16) return NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bn_n != NULL && bn_e != NULL && bld != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
        pkey = from_params("RSA", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return (kamino_pkey *)pkey;
}

kamino_pkey *kamino_pkey_p256_from_jwk(const uint8_t x[32], const uint8_t y[32]) {
    uint8_t point[65];
    point[0] = 0x04;  // uncompressed
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (bld != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) == 1) {
        pkey = from_params("EC", bld);
    }
    OSSL_PARAM_BLD_free(bld);
    if (pkey == NULL) return NULL;
    // fromdata does not promise the point is on the curve: check it.
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return (kamino_pkey *)pkey;
}

int kamino_pkey_kind(const kamino_pkey *key) {
    const EVP_PKEY *pkey = as_evp_const(key);
    if (pkey == NULL) return KAMINO_PKEY_OTHER;
    if (EVP_PKEY_is_a(pkey, "RSA")) return KAMINO_PKEY_RSA;
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = {0};
        size_t group_len = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_len) == 1 &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
            return KAMINO_PKEY_EC_P256;
    }
    return KAMINO_PKEY_OTHER;
}

int kamino_pkey_bits(const kamino_pkey *key) {
    if (kamino_pkey_kind(key) != KAMINO_PKEY_RSA) return 0;
    return EVP_PKEY_get_bits(as_evp_const(key));
}

void kamino_pkey_free(kamino_pkey *key) { EVP_PKEY_free(as_evp(key)); }

/// EVP_DigestVerify with SHA-256 of `der_sig` over `data`.
static int verify_sha256(EVP_PKEY *pkey, const uint8_t *data, size_t data_len, const uint8_t *sig, size_t sig_len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) return 0;
    int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, data, data_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

int kamino_verify_rs256(kamino_pkey *key, const uint8_t *data, size_t data_len, const uint8_t *sig, size_t sig_len) {
    if (kamino_pkey_kind(key) != KAMINO_PKEY_RSA || sig_len == 0) return 0;
    return verify_sha256(as_evp(key), data, data_len, sig, sig_len);
}

int kamino_verify_es256(kamino_pkey *key, const uint8_t *data, size_t data_len, const uint8_t *sig, size_t sig_len) {
    if (kamino_pkey_kind(key) != KAMINO_PKEY_EC_P256 || sig_len != 64) return 0;
    ECDSA_SIG *ecdsa = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    if (ecdsa == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(ecdsa, r, s) != 1) {
        ECDSA_SIG_free(ecdsa);
        BN_free(r);
        BN_free(s);
        return 0;
    }
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(ecdsa, &der);
    ECDSA_SIG_free(ecdsa);  // owns r and s
    if (der_len <= 0) return 0;
    int ok = verify_sha256(as_evp(key), data, data_len, der, (size_t)der_len);
    OPENSSL_free(der);
    return ok;
}

/// EVP_DigestSign with SHA-256 into a freshly allocated buffer (OPENSSL_free it).
static unsigned char *sign_sha256(EVP_PKEY *pkey, const uint8_t *data, size_t data_len, size_t *sig_len) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    *sig_len = 0;
    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, sig_len, data, data_len) == 1) {
        sig = OPENSSL_malloc(*sig_len);
        if (sig != NULL && EVP_DigestSign(ctx, sig, sig_len, data, data_len) != 1) {
            OPENSSL_free(sig);
            sig = NULL;
        }
    }
    EVP_MD_CTX_free(ctx);
    return sig;
}

size_t kamino_sign_rs256(kamino_pkey *key, const uint8_t *data, size_t data_len, uint8_t *out, size_t cap) {
    if (kamino_pkey_kind(key) != KAMINO_PKEY_RSA) return 0;
    size_t len = 0;
    unsigned char *sig = sign_sha256(as_evp(key), data, data_len, &len);
    if (sig == NULL) return 0;
    size_t written = 0;
    if (len <= cap) {
        memcpy(out, sig, len);
        written = len;
    }
    OPENSSL_free(sig);
    return written;
}

size_t kamino_sign_es256(kamino_pkey *key, const uint8_t *data, size_t data_len, uint8_t out[64]) {
    if (kamino_pkey_kind(key) != KAMINO_PKEY_EC_P256) return 0;
    size_t len = 0;
    unsigned char *der = sign_sha256(as_evp(key), data, data_len, &len);
    if (der == NULL) return 0;
    const unsigned char *p = der;
    ECDSA_SIG *ecdsa = d2i_ECDSA_SIG(NULL, &p, (long)len);
    OPENSSL_free(der);
    if (ecdsa == NULL) return 0;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(ecdsa, &r, &s);
    int ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
    ECDSA_SIG_free(ecdsa);
    return ok ? 64 : 0;
}
