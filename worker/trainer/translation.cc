#include "worker/trainer/translation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "models/layers/rnn_seq2seq.h"
#include "models/layers/seq2seq_ends.h"
#include "models/layers/transformer_block.h"
#include "runtime/ops/ops.h"
#include "runtime/status.h"
#include "storage/batch.h"
#include "worker/trainer/decoder_run.h"

namespace ty {
namespace {

constexpr float kDead = -std::numeric_limits<float>::infinity();

struct Hypothesis {
  float score;  // normalized
  std::vector<int32_t> ids;
};

struct Candidate {
  float score;
  int64_t row;  // the hypothesis it extends
  int32_t token;
};

}  // namespace

std::vector<int32_t> ids_before_eos(const int32_t* ids, int64_t len, int32_t eos) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < len && ids[i] != eos; ++i) out.push_back(ids[i]);
  return out;
}

absl::StatusOr<Translator> Translator::create(Context& ctx, Model& model, int32_t bos, int32_t eos) {
  Translator t(ctx, model, bos, eos);
  for (size_t i = 0; i < model.num_layers(); ++i) {
    Layer& l = model.layer(i);
    if (auto* e = dynamic_cast<Seq2seqEmbedding*>(&l)) {
      t.embedding_ = e;
    } else if (auto* b = dynamic_cast<TransformerBlock*>(&l)) {
      (b->role() == TransformerBlock::Role::kDecoder ? t.decoder_ : t.encoder_).push_back(b);
    } else if (auto* e = dynamic_cast<BiRecurrentEncoder*>(&l)) {
      t.rnn_encoder_.push_back(e);
    } else if (auto* d = dynamic_cast<AttentionalDecoder*>(&l)) {
      t.rnn_decoder_ = d;
    } else if (auto* n = dynamic_cast<EncoderNorm*>(&l)) {
      t.encoder_norm_ = n;
    } else if (auto* o = dynamic_cast<Seq2seqOutput*>(&l)) {
      t.output_ = o;
    }
  }
  const bool transformer = t.encoder_norm_ && !t.decoder_.empty(), rnn = t.rnn_decoder_ != nullptr;
  if (!t.embedding_ || !t.output_ || transformer == rnn)
    return absl::InvalidArgumentError("translate: the job's model is not a seq2seq model (model.kind: seq2seq)");
  // An RNN has no positions; its outputs may run past the records' length.
  t.context_ = rnn ? 4 * t.embedding_->max_len() : t.embedding_->max_len();
  if (transformer && ctx.device().kind != DeviceKind::kCPU && t.context_ > kGatheredAttentionMaxKeysCuda)
    return absl::InvalidArgumentError(absl::StrCat("translate: a decoder of ", t.context_,
                                                   " positions (model.context); decoding on CUDA takes at most ",
                                                   kGatheredAttentionMaxKeysCuda));
  return t;
}

Var Translator::encode(Context& ctx, const Var& src, const Tensor& src_len) {
  Var h = embedding_->embed_source(ctx, src);
  for (TransformerBlock* b : encoder_) h = b->encode(ctx, h, src_len);
  for (BiRecurrentEncoder* e : rnn_encoder_) h = e->encode(ctx, h, src_len);
  return encoder_norm_ ? encoder_norm_->norm(ctx, h) : h;
}

std::vector<std::vector<int32_t>> Translator::translate(const std::vector<std::vector<int32_t>>& sources,
                                                        const DecodeOptions& options) {
  model_->set_training(false);
  TapeScope no_grad(*ctx_, nullptr);
  std::vector<std::vector<int32_t>> out;
  out.reserve(sources.size());
  const size_t batch = static_cast<size_t>(std::max<int64_t>(options.batch, 1));
  for (size_t first = 0; first < sources.size(); first += batch) {
    const size_t end = std::min(sources.size(), first + batch);
    std::vector<std::vector<int32_t>> part(sources.begin() + first, sources.begin() + end);
    for (auto& hyp : translate_batch(part, options)) out.push_back(std::move(hyp));
  }
  model_->set_training(true);
  return out;
}

std::vector<std::vector<int32_t>> Translator::translate_batch(const std::vector<std::vector<int32_t>>& sources_in,
                                                              const DecodeOptions& o) {
  Context& ctx = *ctx_;
  const int64_t s_count = static_cast<int64_t>(sources_in.size()), beam = std::max<int64_t>(o.beam, 1);
  const int64_t rows = s_count * beam;
  // Sources with their "</s>", cut to what the model takes, padded with "</s>".
  std::vector<std::vector<int32_t>> sources = sources_in;
  const int64_t max_source = embedding_->max_len();
  int64_t ls = 1;
  for (auto& s : sources) {
    if (static_cast<int64_t>(s.size()) + 1 > max_source) {
      s.resize(max_source - 1);
      ++truncated_;
    }
    ls = std::max<int64_t>(ls, static_cast<int64_t>(s.size()) + 1);
  }
  std::vector<int32_t> src(s_count * ls, eos_), key_len(s_count);
  std::vector<int64_t> limit(s_count);  // output tokens allowed, "</s>" not counted
  for (int64_t i = 0; i < s_count; ++i) {
    std::copy(sources[i].begin(), sources[i].end(), src.begin() + i * ls);
    key_len[i] = static_cast<int32_t>(sources[i].size() + 1);
    const double allowed = o.max_len_a * static_cast<double>(sources[i].size()) + static_cast<double>(o.max_len_b);
    limit[i] = std::clamp<int64_t>(static_cast<int64_t>(allowed), 1, context_ - 1);
  }
  const int64_t steps = *std::max_element(limit.begin(), limit.end()) + 1;

  // Encoder once; the decoder's keys and values of the memory.
  const Tensor src_len = ctx.to_device(i32_host({s_count}, key_len));
  const Var memory = encode(ctx, Var(ctx.to_device(i32_host({s_count, ls}, src))), src_len);
  std::unique_ptr<DecoderRun> run;
  if (rnn_decoder_) {
    run = rnn_run(ctx, rnn_decoder_, rnn_decoder_->memory_kv(ctx, memory), key_len, beam);
  } else {
    std::vector<Var> kv;
    for (TransformerBlock* b : decoder_) kv.push_back(b->memory_kv(ctx, memory));
    run = transformer_run(ctx, decoder_, kv, key_len, beam, steps, memory.dtype());
  }

  // Rows: B per sentence not yet done (`live`, in row order); a done sentence's rows leave.
  std::vector<int64_t> live(s_count);
  for (int64_t i = 0; i < s_count; ++i) live[i] = i;
  std::vector<int32_t> tokens(rows, bos_);
  std::vector<float> scores(rows, kDead);
  std::vector<std::vector<int32_t>> history(rows);
  for (int64_t i = 0; i < s_count; ++i) scores[i * beam] = 0;  // one live hypothesis to start
  std::vector<std::vector<Hypothesis>> finished(s_count);

  for (int64_t t = 0; t < steps && !live.empty(); ++t) {
    const int64_t now = static_cast<int64_t>(live.size()) * beam;
    const Var x = embedding_->embed(ctx, Var(ctx.to_device(i32_host({now, 1}, tokens))), t);
    const Var logits = output_->logits(ctx, run->step(ctx, x));
    const int64_t vocab = logits.shape()[2];
    const Tensor logp = ops::log_softmax(ctx, ops::reshape(ctx, logits, {now, vocab})).value().host();
    std::vector<float> wide;  // (an f64 model's, narrowed)
    if (logp.dtype() == DType::kF64) wide.assign(logp.data<double>(), logp.data<double>() + logp.numel());
    const float* lp = logp.dtype() == DType::kF64 ? wide.data() : logp.data<float>();

    // The rows of the next step, in the order of `next_live`: their parents and tokens.
    std::vector<int64_t> next_live;
    std::vector<int32_t> parent, next_tokens;
    std::vector<float> next_scores;
    std::vector<Candidate> cands;
    std::vector<int32_t> order(vocab);
    for (size_t slot = 0; slot < live.size(); ++slot) {
      const int64_t s = live[slot];
      const bool at_limit = t >= limit[s];
      cands.clear();
      for (int64_t b = 0; b < beam; ++b) {
        const int64_t r = static_cast<int64_t>(slot) * beam + b;
        if (scores[r] == kDead) continue;
        const float* row = lp + r * vocab;
        if (at_limit) {
          cands.push_back({scores[r] + row[eos_], r, eos_});
          continue;
        }
        // This hypothesis's 2B best tokens (no more can make the sentence's 2B best).
        const int64_t k = std::min<int64_t>(2 * beam, vocab);
        for (int64_t v = 0; v < vocab; ++v) order[v] = static_cast<int32_t>(v);
        std::partial_sort(order.begin(), order.begin() + k, order.end(),
                          [row](int32_t a, int32_t c) { return row[a] > row[c] || (row[a] == row[c] && a < c); });
        for (int64_t j = 0; j < k; ++j) cands.push_back({scores[r] + row[order[j]], r, order[j]});
      }
      std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& c) { return a.score > c.score; });
      std::vector<const Candidate*> going_on;
      for (size_t j = 0; j < cands.size() && static_cast<int64_t>(going_on.size()) < beam; ++j) {
        const Candidate& c = cands[j];
        if (c.token == eos_) {
          // Finished only when among the best B extensions (else it is passed over).
          if (static_cast<int64_t>(j) < beam && static_cast<int64_t>(finished[s].size()) < beam) {
            const float length = static_cast<float>(history[c.row].size() + 1);
            finished[s].push_back({c.score / std::pow(length, o.length_penalty), history[c.row]});
          }
          continue;
        }
        going_on.push_back(&c);
      }
      if (static_cast<int64_t>(finished[s].size()) >= beam || at_limit || going_on.empty()) continue;  // done
      next_live.push_back(s);
      for (int64_t b = 0; b < beam; ++b) {  // (fewer than B going on: dead rows, parent the first)
        const Candidate* c = b < static_cast<int64_t>(going_on.size()) ? going_on[b] : nullptr;
        parent.push_back(static_cast<int32_t>(c ? c->row : going_on[0]->row));
        next_tokens.push_back(c ? c->token : eos_);
        next_scores.push_back(c ? c->score : kDead);
      }
    }
    // The hypotheses' histories and caches follow their parents.
    std::vector<std::vector<int32_t>> next_history(parent.size());
    bool moved = parent.size() != static_cast<size_t>(now);
    for (size_t r = 0; r < parent.size(); ++r) {
      moved = moved || parent[r] != static_cast<int32_t>(r);
      if (next_scores[r] == kDead) continue;
      next_history[r] = history[parent[r]];
      next_history[r].push_back(next_tokens[r]);
    }
    if (moved && !next_live.empty()) run->reorder(ctx, parent);
    live = std::move(next_live);
    history = std::move(next_history);
    tokens = std::move(next_tokens);
    scores = std::move(next_scores);
  }
  std::vector<std::vector<int32_t>> best(s_count);
  for (int64_t s = 0; s < s_count; ++s) {
    const auto& f = finished[s];
    if (f.empty()) continue;
    best[s] = std::max_element(f.begin(), f.end(), [](const Hypothesis& a, const Hypothesis& c) {
                return a.score < c.score;
              })->ids;
  }
  return best;
}

absl::StatusOr<TranslationScores> score_translations(Context& ctx, Model& model, const Vocabulary& vocab,
                                                     const Dataset& data, const DecodeOptions& options,
                                                     Strategy& strategy) {
  TY_ASSIGN_OR_RETURN(Translator translator,
                      Translator::create(ctx, model, vocab.bos_id(), vocab.eos_id()));
  std::vector<int64_t> mine;
  for (int64_t i = strategy.data_rank(); i < data.size(); i += strategy.data_world()) mine.push_back(i);
  std::vector<std::vector<int32_t>> sources;
  std::vector<std::string> references;
  const int64_t chunk = 1024;
  for (size_t first = 0; first < mine.size(); first += chunk) {
    const int64_t count = std::min<int64_t>(chunk, static_cast<int64_t>(mine.size() - first));
    TY_ASSIGN_OR_RETURN(Batch b, gather_batch(data, mine.data() + first, count));
    const Tensor x = b["x"].host(), y = b["y"].host();
    const int64_t ls = x.dim(1), lt = y.dim(1);
    for (int64_t i = 0; i < count; ++i) {
      sources.push_back(ids_before_eos(x.data<int32_t>() + i * ls, ls, vocab.eos_id()));
      references.push_back(vocab.decode(ids_before_eos(y.data<int32_t>() + i * lt, lt, vocab.eos_id())));
    }
  }
  const std::vector<std::vector<int32_t>> out = translator.translate(sources, options);
  BleuStats bleu;
  bleu.correct.assign(4, 0);
  bleu.total.assign(4, 0);
  const ChrfOptions chrf_options;
  ChrfStats chrf(3 * (chrf_options.char_order + chrf_options.word_order), 0);
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string hyp = vocab.decode(out[i]);
    bleu.add(segment_bleu_stats(hyp, {references[i]}));
    const ChrfStats c = segment_chrf_stats(hyp, {references[i]});
    for (size_t k = 0; k < chrf.size(); ++k) chrf[k] += c[k];
  }
  // Summed over the data shares: BLEU's and chrF's statistics add over segments.
  std::vector<double> sums = {static_cast<double>(bleu.hyp_len), static_cast<double>(bleu.ref_len),
                              static_cast<double>(out.size())};
  for (int n = 0; n < 4; ++n) sums.insert(sums.end(), {bleu.correct[n], bleu.total[n]});
  for (const int64_t c : chrf) sums.push_back(static_cast<double>(c));
  if (strategy.world() > 1) TY_RETURN_IF_ERROR(strategy.sum(sums));
  BleuStats total;
  total.hyp_len = static_cast<int64_t>(std::llround(sums[0]));
  total.ref_len = static_cast<int64_t>(std::llround(sums[1]));
  for (int n = 0; n < 4; ++n) {
    total.correct.push_back(sums[3 + 2 * n]);
    total.total.push_back(sums[4 + 2 * n]);
  }
  ChrfStats chrf_total(chrf.size());
  for (size_t k = 0; k < chrf.size(); ++k) chrf_total[k] = static_cast<int64_t>(std::llround(sums[11 + k]));
  TranslationScores scores;
  scores.bleu = bleu_from_stats(total);
  scores.bleu.nrefs = 1;
  scores.chrf.score = chrf_from_stats(chrf_total);
  scores.chrf.name = "chrF2";
  scores.sentences = static_cast<int64_t>(std::llround(sums[2]));
  return scores;
}

}  // namespace ty
