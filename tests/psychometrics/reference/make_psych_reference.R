# Regenerates psych_reference.json and mh_reference.json beside this file.
# Run from this folder with R and the psych package installed, e.g. on Debian 12:
#   apt-get install r-base-core r-cran-psych r-cran-gparotation
#   Rscript make_psych_reference.R
# The values were produced with R 4.2.2 and psych 2.2.9 (Debian packages).
suppressMessages(library(psych))

num <- function(x) {
  x <- as.numeric(x)
  out <- ifelse(is.na(x), "null", sprintf("%.12g", x))
  if (length(out) == 1) out else paste0("[", paste(out, collapse = ", "), "]")
}
obj <- function(...) {
  parts <- list(...)
  paste0("{", paste(sprintf('"%s": %s', names(parts), unlist(parts)), collapse = ", "), "}")
}
strs <- function(x) paste0("[", paste(sprintf('"%s"', x), collapse = ", "), "]")

bfi_data <- read.csv("bfi.csv")
scales <- list(
  agreeableness = c("-A1", "A2", "A3", "A4", "A5"),
  conscientiousness = c("C1", "C2", "C3", "-C4", "-C5"),
  extraversion = c("-E1", "-E2", "E3", "E4", "E5"),
  neuroticism = c("N1", "N2", "N3", "N4", "N5"),
  openness = c("O1", "-O2", "O3", "O4", "-O5")
)
entries <- c()
for (name in names(scales)) {
  keyed <- scales[[name]]
  items <- sub("-", "", keyed)
  reversed <- items[startsWith(keyed, "-")]
  x <- bfi_data[, items]
  a <- if (length(reversed)) alpha(x, keys = reversed) else alpha(x)
  key <- ifelse(items %in% reversed, -1, 1)
  o <- suppressWarnings(suppressMessages(omega(x, nfactors = 1, key = key, plot = FALSE)))
  entries <- c(entries, sprintf('"%s": %s', name, obj(
    items = strs(items), reversed = strs(reversed),
    raw_alpha = num(a$total$raw_alpha), std_alpha = num(a$total$std.alpha),
    average_r = num(a$total$average_r), ase = num(a$total$ase),
    mean = num(a$total$mean), sd = num(a$total$sd),
    feldt_lower = num(a$feldt$lower.ci), feldt_upper = num(a$feldt$upper.ci),
    alpha_if_deleted = num(a$alpha.drop$raw_alpha),
    n = num(a$item.stats$n), raw_r = num(a$item.stats$raw.r), r_drop = num(a$item.stats$r.drop),
    item_mean = num(a$item.stats$mean), item_sd = num(a$item.stats$sd),
    omega_total = num(o$omega.tot), omega_loadings = num(o$schmid$sl[, 1]))))
}
lsat7 <- read.csv("lsat7.csv")
lsat7_long <- lsat7[rep(seq_len(nrow(lsat7)), lsat7$count), 1:5]
a7 <- alpha(lsat7_long)
entries <- c(entries, sprintf('"lsat7": %s', obj(
  raw_alpha = num(a7$total$raw_alpha), alpha_if_deleted = num(a7$alpha.drop$raw_alpha),
  r_drop = num(a7$item.stats$r.drop), feldt_lower = num(a7$feldt$lower.ci),
  feldt_upper = num(a7$feldt$upper.ci))))
writeLines(c("{", paste(entries, collapse = ",\n"), "}"), "psych_reference.json")

# Mantel-Haenszel DIF reference (base R stats::mantelhaen.test): ten bfi items
# (C1..C5, E1..E5 with C4, C5, E1, E2 reversed as 7 - x), dichotomised x >= 4,
# complete cases, reference group gender 1 (male), focal group gender 2 (female),
# matching on the total of the ten dichotomised items; strata with fewer than two
# people are dropped (mantelhaen.test requires at least two per stratum).
items <- c("C1", "C2", "C3", "C4", "C5", "E1", "E2", "E3", "E4", "E5")
d <- bfi_data[, c(items, "gender")]
d <- d[complete.cases(d), ]
for (r in c("C4", "C5", "E1", "E2")) d[[r]] <- 7 - d[[r]]
scored <- as.matrix(d[, items] >= 4) * 1
total <- rowSums(scored)
group <- factor(ifelse(d$gender == 1, "reference", "focal"), levels = c("reference", "focal"))
mh <- c()
for (j in seq_along(items)) {
  correct <- factor(ifelse(scored[, j] == 1, "right", "wrong"), levels = c("right", "wrong"))
  tab <- table(group, correct, total)
  keep <- apply(tab, 3, sum) >= 2
  test <- mantelhaen.test(tab[, , keep], correct = TRUE)
  mh <- c(mh, sprintf('"%s": %s', items[j], obj(
    statistic = num(test$statistic), p_value = num(test$p.value),
    odds_ratio = num(test$estimate), ci_lower = num(test$conf.int[1]),
    ci_upper = num(test$conf.int[2]))))
}
writeLines(c("{", sprintf('"n_persons": %d,', nrow(d)), paste(mh, collapse = ",\n"), "}"), "mh_reference.json")
