import { describe, expect, it } from 'vitest';
import { isRtl, pickLang, siteText, t } from './i18n.js';

describe('the strings table', () => {
  it('picks the first language it has, by primary tag, else English', () => {
    expect(pickLang([undefined, '', 'fr-CA', 'es'])).toBe('fr');
    expect(pickLang(['de-DE', 'ES-mx'])).toBe('es');
    expect(pickLang(['ar'])).toBe('ar');
    expect(pickLang(['de', null])).toBe('en');
  });

  it('gives every key in every language, falling back to English, with {n} filled in', () => {
    expect(t('fr', 'send')).toBe('Envoyer');
    expect(t('es', 'limited', 17)).toBe(
      'Demasiadas preguntas. Espera 17 segundos e inténtalo de nuevo.',
    );
    expect(t('en', 'limited', 5)).toBe(
      'Too many questions right now. Please wait 5 seconds and try again.',
    );
    expect(t('xx', 'send')).toBe('Send');
    expect(siteText('fr', 'landing')).toBe('Interrogez la documentation');
    expect(siteText('ar', 'about')).toBe(siteText('en', 'about'));
  });

  it('knows which languages run right to left', () => {
    expect(isRtl('ar')).toBe(true);
    expect(isRtl('he-IL')).toBe(true);
    expect(isRtl('fr')).toBe(false);
  });
});
