package io.mmstream.model.blip;

/**
 * Rank-mode VQA over a closed candidate set, per question (the original's {@code rank_answer}).
 *
 * @param firstTokenProbabilities {@code [questions][candidates]}: probability of each candidate's
 *     first token after [DEC]
 * @param shortlist {@code [questions][k]}: candidate indices of the top-k first-token probabilities
 * @param scores {@code [questions][candidates]}: minus the label-smoothed cross-entropy summed over
 *     the candidate's tokens (the original's ranking score); NaN for candidates outside the shortlist
 * @param logLikelihoods like {@code scores} but the plain sum of token log-probabilities
 * @param best {@code [questions]}: the shortlisted candidate with the highest score
 */
public record BlipRanking(
    float[][] firstTokenProbabilities, int[][] shortlist, double[][] scores, double[][] logLikelihoods, int[] best) {}
